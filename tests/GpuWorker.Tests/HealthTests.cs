using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Farm.Coordinator;
using Farm.GpuWorker.Tests.Support;
using Farm.Testing;
using Xunit;

namespace Farm.GpuWorker.Tests;

/// <summary>/healthz/live and /healthz/ready of the coordinator and of a <c>farm worker</c> process, on the real services.</summary>
public sealed class HealthTests
{
    private static async Task<(HttpStatusCode Status, JsonElement Body)> GetAsync(HttpClient http, string path)
    {
        using var response = await http.GetAsync(path);
        return (response.StatusCode, JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone());
    }

    private static string Entry(JsonElement body, string name) =>
        body.GetProperty("entries").TryGetProperty(name, out var entry) ? entry.GetProperty("status").GetString()! : "(no entry)";

    [Fact]
    public async Task The_coordinator_is_live_and_ready_with_an_entry_each_for_redis_rabbitmq_and_the_bucket()
    {
        await using var coordinator = await CoordinatorUnderTest.StartAsync("health", new CoordinatorOptions());
        Assert.Equal(HttpStatusCode.OK, (await GetAsync(coordinator.Http, "/healthz/live")).Status);
        HttpStatusCode status = 0;
        JsonElement body = default;
        // The bus connects in the background: ready follows within seconds.
        await CoordinatorUnderTest.WaitUntilAsync(async () =>
        {
            (status, body) = await GetAsync(coordinator.Http, "/healthz/ready");
            return status == HttpStatusCode.OK;
        }, TimeSpan.FromSeconds(30), () => $"ready (last: {status} {body})");
        Assert.Equal(("Healthy", "Healthy", "Healthy"), (Entry(body, "redis"), Entry(body, "rabbitmq"), Entry(body, "bucket")));
    }

    [Fact]
    public async Task A_coordinator_whose_bucket_is_unreachable_is_live_but_not_ready_and_says_which()
    {
        using var closed = new TcpListener(IPAddress.Loopback, 0);
        closed.Start();
        var port = ((IPEndPoint)closed.LocalEndpoint).Port;
        closed.Stop(); // nothing listens there now
        await using var coordinator = await CoordinatorUnderTest.StartAsync("health", new CoordinatorOptions(),
            new Dictionary<string, string> { ["FARM_S3_URL"] = $"http://127.0.0.1:{port}" });
        Assert.Equal(HttpStatusCode.OK, (await GetAsync(coordinator.Http, "/healthz/live")).Status);
        await CoordinatorUnderTest.WaitUntilAsync(async () => Entry((await GetAsync(coordinator.Http, "/healthz/ready")).Body, "rabbitmq") == "Healthy",
            TimeSpan.FromSeconds(30), "the bus connected");
        var (status, body) = await GetAsync(coordinator.Http, "/healthz/ready");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.Equal(("Unhealthy", "Healthy", "Healthy"), (Entry(body, "bucket"), Entry(body, "redis"), Entry(body, "rabbitmq")));
    }

    [Fact]
    public async Task A_coordinator_whose_bucket_does_not_exist_is_not_ready_and_says_so()
    {
        await using var coordinator = await CoordinatorUnderTest.StartAsync("health", new CoordinatorOptions(),
            new Dictionary<string, string> { ["FARM_S3_BUCKET"] = TestServices.UniqueName("never-created") });
        await CoordinatorUnderTest.WaitUntilAsync(async () => Entry((await GetAsync(coordinator.Http, "/healthz/ready")).Body, "rabbitmq") == "Healthy",
            TimeSpan.FromSeconds(30), "the bus connected");
        var (status, body) = await GetAsync(coordinator.Http, "/healthz/ready");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.Equal("Unhealthy", Entry(body, "bucket"));
        Assert.Contains("NoSuchBucket", body.GetRawText());
    }

    [Fact]
    public async Task A_worker_process_serves_live_and_ready_on_its_health_urls_once_its_queues_are_bound()
    {
        var model = TestServices.UniqueName("tiny");
        using var models = await TinyModels.CreateAsync(model);
        await using var coordinator = await CoordinatorUnderTest.StartAsync("health", new CoordinatorOptions());
        using var free = new TcpListener(IPAddress.Loopback, 0);
        free.Start();
        var port = ((IPEndPoint)free.LocalEndpoint).Port;
        free.Stop();
        using var worker = WorkerProcess.StartCli("health-worker", coordinator.Settings,
            "worker", "--models", models.Dir, "--id", "health-worker", "--threads", "1", "--health-urls", $"http://127.0.0.1:{port}");
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(5) };
        HttpStatusCode status = 0;
        JsonElement body = default;
        await CoordinatorUnderTest.WaitUntilAsync(async () =>
        {
            try
            {
                (status, body) = await GetAsync(http, "/healthz/ready");
                return status == HttpStatusCode.OK;
            }
            catch (HttpRequestException)
            {
                return false;
            }
        }, TimeSpan.FromSeconds(60), () => $"worker ready (last: {status} {body})\n{worker.Output}");
        Assert.Equal(("Healthy", "Healthy"), (Entry(body, "rabbitmq"), Entry(body, "models")));
        Assert.Equal(HttpStatusCode.OK, (await GetAsync(http, "/healthz/live")).Status);
        var exit = await worker.TerminateAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(0, exit.Code);
    }
}

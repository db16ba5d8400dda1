using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.RegularExpressions;
using Amazon.S3;
using Amazon.S3.Model;
using Farm.Coordinator;
using Farm.Coordinator.Api;
using Farm.GpuWorker.Tests.Support;
using Farm.Shared.Contracts;
using Farm.Shared.Layout;
using Farm.Testing;
using StackExchange.Redis;
using Xunit;

namespace Farm.GpuWorker.Tests;

/// <summary>
/// Graceful stop on real processes and services: SIGTERM to <c>farm worker</c> (idle, busy, broker gone) and
/// <c>farm coordinator</c>; each must exit in time with code 0, and a sweep must still end with one image per index.
/// </summary>
public sealed partial class ShutdownTests : IAsyncLifetime
{
    private static readonly TimeSpan Startup = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan Finish = TimeSpan.FromSeconds(120);
    private static readonly CoordinatorOptions Options = new() { DefaultBatchSize = 2, QueuedPerPipeline = 2, MaxWidth = 256, MaxHeight = 256 };

    private readonly string model = TestServices.UniqueName("tiny");
    private readonly List<WorkerProcess> processes = [];
    private TinyModels models = null!;
    private CoordinatorUnderTest coordinator = null!;
    private ConnectionMultiplexer redis = null!;

    public async Task InitializeAsync()
    {
        models = await TinyModels.CreateAsync(model);
        redis = await TestServices.ConnectRedisAsync();
        coordinator = await CoordinatorUnderTest.StartAsync("shutdown", Options);
    }

    public async Task DisposeAsync()
    {
        foreach (var p in processes) p.Dispose();
        await coordinator.DisposeAsync();
        redis.Dispose();
        models.Dispose();
    }

    private string Output() => string.Join("\n", processes.Select(w => $"--- {w.Id}{(w.HasExited ? " (exited)" : "")}:\n{w.Output}"));

    private async Task<WorkerProcess> StartWorkerAsync(string id, IReadOnlyDictionary<string, string>? extra = null)
    {
        var settings = new Dictionary<string, string>(coordinator.Settings);
        foreach (var (k, v) in extra ?? new Dictionary<string, string>()) settings[k] = v;
        var worker = WorkerProcess.StartCli(id, settings, "worker", "--models", models.Dir, "--id", id, "--threads", "1");
        processes.Add(worker);
        await WaitAsync(async () => (await WorkersAsync()).Contains(id), Startup, $"worker {id} announcing {model}");
        return worker;
    }

    private async Task<List<string>> WorkersAsync() =>
        (await coordinator.Http.GetFromJsonAsync<List<WorkerHeartbeat>>("/v1/workers", FarmJson.Options))!.Select(w => w.WorkerId).ToList();

    private async Task WaitAsync(Func<Task<bool>> condition, TimeSpan timeout, string what)
    {
        try
        {
            await CoordinatorUnderTest.WaitUntilAsync(condition, timeout, what);
        }
        catch (TimeoutException e)
        {
            throw new TimeoutException($"{e.Message}\n{Output()}", e);
        }
    }

    /// <summary>The step a job of the sweep is at, when a worker is rendering it.</summary>
    private async Task<int?> RenderingStepAsync(string sweepId, long job)
    {
        var fields = (await redis.GetDatabase().HashGetAllAsync(coordinator.Keys.Job(sweepId, job))).ToDictionary(e => (string)e.Name!, e => (string)e.Value!);
        return fields.GetValueOrDefault("state") == "running" && fields.TryGetValue("step", out var step) ? int.Parse(step) : null;
    }

    private async Task<List<string>> BucketKeysAsync(string sweepId)
    {
        using var s3 = TestServices.CreateS3Client();
        var response = await s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = coordinator.Bucket, Prefix = StorageKeys.ImagesPrefix(sweepId) });
        return (response.S3Objects ?? []).Select(o => o.Key).Order(StringComparer.Ordinal).ToList();
    }

    private static List<string> ExpectedKeys(string sweepId, long images) =>
        Enumerable.Range(0, (int)images).SelectMany(i => new[] { StorageKeys.Image(sweepId, i), StorageKeys.ImageRecord(sweepId, i) })
            .Order(StringComparer.Ordinal).ToList();

    private static void AssertExited((int? Code, TimeSpan Took) exit, TimeSpan limit, WorkerProcess process)
    {
        Assert.True(exit.Code is not null, $"{process.Id} still running {limit.TotalSeconds} s after SIGTERM\n{process.Output}");
        Assert.True(exit.Code == 0, $"{process.Id} exited with {exit.Code}\n{process.Output}");
        Assert.True(exit.Took <= limit, $"{process.Id} took {exit.Took.TotalSeconds:F1} s");
    }

    [Fact]
    public async Task An_idle_worker_exits_with_0_within_10_s_of_sigterm_and_leaves_the_worker_list_at_once()
    {
        var worker = await StartWorkerAsync("idle");
        var exit = await worker.TerminateAsync(TimeSpan.FromSeconds(10));
        AssertExited(exit, TimeSpan.FromSeconds(10), worker);
        Assert.DoesNotContain("idle", await WorkersAsync());
    }

    [Fact]
    public async Task A_busy_worker_past_its_drain_time_hands_its_job_back_and_another_worker_finishes_the_sweep()
    {
        var busy = await StartWorkerAsync("busy", new Dictionary<string, string> { ["FARM_WORKER_DRAIN_SECONDS"] = "1" });
        var accepted = await coordinator.SubmitAsync($$"""{"model":"{{model}}","prompts":["a red fox"],"seeds":[1,2],"steps":150,"width":64,"height":64}""");
        Assert.Equal((2L, 1L), (accepted.Images, accepted.Jobs));
        await WaitAsync(async () => await RenderingStepAsync(accepted.Id, 0) >= 2, Finish, "the job rendering on the busy worker");

        var exit = await busy.TerminateAsync(TimeSpan.FromSeconds(20));
        AssertExited(exit, TimeSpan.FromSeconds(20), busy);
        Assert.Contains("handed back", busy.Output);
        Assert.DoesNotContain("busy", await WorkersAsync());

        await StartWorkerAsync("taker");
        var status = await coordinator.WaitForStateAsync(accepted.Id, Finish, "completed", "failed", "cancelled");
        Assert.Equal("completed", status.State);
        Assert.Equal(new ImageCounts(2, 2, 0, 0, 0), status.Images);
        Assert.Equal(ExpectedKeys(accepted.Id, 2), await BucketKeysAsync(accepted.Id));
    }

    [Fact]
    public async Task A_busy_worker_within_its_drain_time_finishes_its_job_then_exits_with_0()
    {
        var busy = await StartWorkerAsync("drainer");
        var accepted = await coordinator.SubmitAsync($$"""{"model":"{{model}}","prompts":["a castle"],"seeds":[5,6],"steps":30,"width":32,"height":32}""");
        await WaitAsync(async () => await RenderingStepAsync(accepted.Id, 0) >= 1, Finish, "the job rendering on the worker");

        var exit = await busy.TerminateAsync(TimeSpan.FromSeconds(40));
        AssertExited(exit, TimeSpan.FromSeconds(40), busy);
        Assert.DoesNotContain("handed back", busy.Output);
        var status = await coordinator.StatusAsync(accepted.Id);
        Assert.Equal(("completed", new ImageCounts(2, 2, 0, 0, 0)), (status.State, status.Images));
        Assert.Equal(ExpectedKeys(accepted.Id, 2), await BucketKeysAsync(accepted.Id));
    }

    [Fact]
    public async Task A_worker_whose_broker_is_gone_still_exits_with_0_after_sigterm()
    {
        var broker = TestServices.RabbitMqUrl;
        using var proxy = new TcpProxy(broker.Host, broker.Port);
        var viaProxy = new UriBuilder(broker) { Port = proxy.Port }.Uri.ToString();
        var worker = await StartWorkerAsync("orphan", new Dictionary<string, string> { ["FARM_RABBITMQ_URL"] = viaProxy, ["FARM_WORKER_DRAIN_SECONDS"] = "2" });
        proxy.Cut();
        await Task.Delay(TimeSpan.FromSeconds(1));

        // Drain (2 s) + one step and the hand-back (10 s) + the bounded disposal: well under 20 s.
        var exit = await worker.TerminateAsync(TimeSpan.FromSeconds(20));
        AssertExited(exit, TimeSpan.FromSeconds(20), worker);
    }

    [Fact]
    public async Task The_coordinator_process_exits_with_0_within_10_s_of_sigterm()
    {
        var settings = new Dictionary<string, string>(coordinator.Settings);
        var process = WorkerProcess.StartCli("coordinator", settings, "coordinator", "--urls", "http://127.0.0.1:0");
        processes.Add(process);
        string? url = null;
        await WaitAsync(() => Task.FromResult((url = ListeningUrl().Match(process.Output) is { Success: true } m ? m.Groups[1].Value : null) is not null),
            Startup, "the coordinator listening");
        using var http = new HttpClient { BaseAddress = new Uri(url!), Timeout = TimeSpan.FromSeconds(10) };
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/healthz")).StatusCode);

        var exit = await process.TerminateAsync(TimeSpan.FromSeconds(10));
        AssertExited(exit, TimeSpan.FromSeconds(10), process);
    }

    [Fact]
    public async Task A_stopping_coordinator_refuses_sweeps_with_503_and_retry_after_and_ends_open_event_streams()
    {
        await StartWorkerAsync("streamer");
        var accepted = await coordinator.SubmitAsync($$"""{"model":"{{model}}","prompts":["a red fox"],"seeds":[1,2],"steps":150,"width":64,"height":64}""");
        using var events = await coordinator.Http.GetAsync($"/v1/sweeps/{accepted.Id}/events", HttpCompletionOption.ResponseHeadersRead);
        var reader = new StreamReader(await events.Content.ReadAsStreamAsync());
        Assert.StartsWith("event: status", await reader.ReadLineAsync());

        coordinator.BeginStopping();
        using var ended = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        while (await reader.ReadLineAsync(ended.Token) is not null)
        {
        }

        using var submit = new StringContent($$"""{"model":"{{model}}","prompts":["x"],"seeds":[1],"steps":2,"width":32,"height":32}""", Encoding.UTF8, "application/json");
        using var refused = await coordinator.Http.PostAsync("/v1/sweeps", submit);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(10), refused.Headers.RetryAfter?.Delta);
        Assert.Equal(HttpStatusCode.OK, (await coordinator.Http.GetAsync($"/v1/sweeps/{accepted.Id}")).StatusCode);
    }

    [GeneratedRegex(@"coordinator listening on (http://[^\s,]+)")]
    private static partial Regex ListeningUrl();
}

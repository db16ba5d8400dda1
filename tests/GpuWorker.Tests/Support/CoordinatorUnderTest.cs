using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using Farm.Coordinator;
using Farm.Coordinator.Api;
using Farm.Infrastructure;
using Farm.Infrastructure.Messaging;
using Farm.Shared.Contracts;
using Farm.Shared.Layout;
using Farm.Testing;
using MassTransit;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Xunit;

namespace Farm.GpuWorker.Tests.Support;

/// <summary>
/// A coordinator in this process against the real services, with a bucket and Redis prefix of its own; the
/// <see cref="Settings"/> point workers (hosts or processes) at the same ones. Waits poll a condition up to a
/// deadline, so a slow machine takes longer but never fails a test that would pass, and a hung one fails.
/// </summary>
internal sealed class CoordinatorUnderTest : IAsyncDisposable
{
    private readonly WebApplication app;

    private CoordinatorUnderTest(WebApplication app, IReadOnlyDictionary<string, string> settings)
    {
        this.app = app;
        Settings = settings;
        Http = new HttpClient { BaseAddress = new Uri(app.Urls.First()), Timeout = TimeSpan.FromSeconds(30) };
    }

    public IReadOnlyDictionary<string, string> Settings { get; }
    public HttpClient Http { get; }
    public IServiceProvider Services => app.Services;
    public string Bucket => Settings["FARM_S3_BUCKET"];
    public ProgressKeys Keys => new(Settings["FARM_REDIS_PREFIX"]);

    public static async Task<CoordinatorUnderTest> StartAsync(string hint, CoordinatorOptions options, IReadOnlyDictionary<string, string>? overrides = null,
        Action<IServiceCollection>? configure = null)
    {
        var settings = new Dictionary<string, string>(TestServices.Settings(await TestServices.CreateBucketAsync(hint)))
        {
            ["FARM_REDIS_PREFIX"] = TestServices.UniqueRedisPrefix(hint),
        };
        foreach (var (key, value) in overrides ?? new Dictionary<string, string>()) settings[key] = value;
        var builder = WebApplication.CreateSlimBuilder();
        builder.Configuration.AddFarmSettings(settings);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var (_, s3) = builder.Services.AddServiceStores(builder.Configuration);
        builder.Services.AddFarmCoordinator(options, s3);
        builder.Services.AddQueueDepthProbe(TestServices.RabbitMqUrl.ToString());
        configure?.Invoke(builder.Services);
        builder.Services.AddMassTransit(x => x.UsingRabbitMq((_, cfg) =>
        {
            TestServices.ConfigureRabbitMq(cfg);
            RenderTopology.Configure(cfg);
        }));
        var app = builder.Build();
        app.MapFarmCoordinator();
        await app.StartAsync();
        return new CoordinatorUnderTest(app, settings);
    }

    /// <summary>What SIGTERM does first: the host's lifetime starts stopping (the host itself is stopped on dispose).</summary>
    public void BeginStopping() => app.Lifetime.StopApplication();

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await app.StopAsync(TimeSpan.FromSeconds(10));
        await app.DisposeAsync();
    }

    /// <summary>Polls <paramref name="condition"/> every 100 ms until it holds; throws naming <paramref name="what"/> after <paramref name="timeout"/>.</summary>
    public static Task WaitUntilAsync(Func<Task<bool>> condition, TimeSpan timeout, string what) => WaitUntilAsync(condition, timeout, () => what);

    public static async Task WaitUntilAsync(Func<Task<bool>> condition, TimeSpan timeout, Func<string> what)
    {
        var clock = Stopwatch.StartNew();
        while (!await condition())
        {
            if (clock.Elapsed > timeout) throw new TimeoutException($"{what()}: not within {timeout.TotalSeconds:F0}s");
            await Task.Delay(100);
        }
    }

    public Task WaitForWorkersAsync(string model, int count, TimeSpan timeout) =>
        WaitUntilAsync(async () =>
        {
            var listed = await Http.GetFromJsonAsync<List<WorkerHeartbeat>>("/v1/workers", FarmJson.Options);
            return listed!.Count(w => w.Models.Contains(model)) >= count;
        }, timeout, $"{count} worker(s) announcing {model}");

    public async Task<SweepAccepted> SubmitAsync(string json, string? idempotencyKey = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/sweeps") { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        if (idempotencyKey is not null) request.Headers.Add("Idempotency-Key", idempotencyKey);
        using var response = await Http.SendAsync(request);
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, $"{response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        return (await response.Content.ReadFromJsonAsync<SweepAccepted>(FarmJson.Options))!;
    }

    /// <summary>The sweep's status, checking the invariant every poll must keep: the counts add up and never exceed the total.</summary>
    public async Task<SweepStatus> StatusAsync(string id)
    {
        var status = (await Http.GetFromJsonAsync<SweepStatus>($"/v1/sweeps/{id}", FarmJson.Options))!;
        Assert.True(status.Images.Completed <= status.Images.Total);
        Assert.Equal(status.Images.Total, status.Images.Completed + status.Images.Failed + status.Images.Running + status.Images.Queued);
        return status;
    }

    public async Task<SweepStatus> WaitForStateAsync(string id, TimeSpan timeout, params string[] states)
    {
        SweepStatus? status = null;
        await WaitUntilAsync(async () =>
        {
            status = await StatusAsync(id);
            return Array.IndexOf(states, status.State) >= 0;
        }, timeout,
            () => $"sweep {id} reaching {string.Join("/", states)} (last: {status?.State} {status?.Images})");
        return status!;
    }
}

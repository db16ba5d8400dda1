using Farm.Coordinator;
using Farm.Coordinator.Api;
using Farm.Coordinator.Telemetry;
using Farm.GpuWorker.Health;
using Farm.GpuWorker.Rendering;
using Farm.GpuWorker.Tests.Support;
using Farm.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Xunit;

namespace Farm.GpuWorker.Tests.Telemetry;

/// <summary>
/// <c>/metrics</c> on the coordinator and on a worker's health port, scraped after real sweeps on RabbitMQ, Redis and
/// s3rver, against the sweep's own status and its spec.
/// </summary>
public sealed class MetricsTests : IAsyncLifetime
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(90);

    private readonly string model = TestServices.UniqueName("tiny");
    private CoordinatorUnderTest coordinator = null!;
    private IHost worker = null!;
    private HttpClient workerHttp = null!;
    private TimeSpan stepDelay = TimeSpan.Zero;

    public Task InitializeAsync() => Task.CompletedTask;

    private async Task StartAsync(int queuedPerPipeline, int batchSize)
    {
        coordinator = await CoordinatorUnderTest.StartAsync("metrics",
            new CoordinatorOptions { DefaultBatchSize = batchSize, QueuedPerPipeline = queuedPerPipeline, MaxImages = 1000, MaxWidth = 256, MaxHeight = 256 },
            configure: s => s.Configure<MetricsOptions>(o => o.SampleInterval = TimeSpan.FromMilliseconds(200)));
        var options = new WorkerOptions { WorkerId = TestServices.UniqueName("metrics-worker"), HeartbeatInterval = TimeSpan.FromMilliseconds(500), HealthUrls = "http://127.0.0.1:0" };
        worker = await InProcessWorker.StartAsync(coordinator.Settings, options,
            new TestDoubleRendererFactory(model, () => stepDelay, job => job.Prompt == "refused" ? new RenderRejectedException("test double refuses prompt 'refused'") : null));
        workerHttp = new HttpClient { BaseAddress = new Uri(worker.Services.GetRequiredService<WorkerHealthServer>().Urls.First()), Timeout = TimeSpan.FromSeconds(10) };
        await coordinator.WaitForWorkersAsync(model, 1, Deadline);
    }

    public async Task DisposeAsync()
    {
        workerHttp?.Dispose();
        if (worker is not null)
        {
            await worker.StopAsync(TimeSpan.FromSeconds(10));
            worker.Dispose();
        }
        if (coordinator is not null) await coordinator.DisposeAsync();
    }

    /// <summary>Scrapes until <paramref name="holds"/> (the gauges are sampled, the counters follow the status by a moment).</summary>
    private static async Task<PrometheusScrape> ScrapeUntilAsync(HttpClient http, Func<PrometheusScrape, bool> holds, string what)
    {
        PrometheusScrape scrape = null!;
        await CoordinatorUnderTest.WaitUntilAsync(async () => holds(scrape = await PrometheusScrape.GetAsync(http)), Deadline,
            () => $"{what}; last scrape:\n{scrape?.Text}");
        return scrape;
    }

    [Fact]
    public async Task After_a_sweep_the_worker_and_coordinator_metrics_match_the_sweeps_own_counts()
    {
        await StartAsync(queuedPerPipeline: 2, batchSize: 2);
        // 2 prompts × 3 seeds in batches of 2: per prompt a job of 2 and a job of 1; the "refused" prompt's 3 images fail.
        const int steps = 3;
        var accepted = await coordinator.SubmitAsync($$"""{"model":"{{model}}","prompts":["a fox","refused"],"seeds":[1,2,3],"steps":{{steps}},"width":16,"height":24}""");
        var status = await coordinator.WaitForStateAsync(accepted.Id, Deadline, "completed", "failed");
        Assert.Equal(("failed", 3L, 3L), (status.State, status.Images.Completed, status.Images.Failed));

        var m = ("model", model);
        var size = ("size", "16x24");
        var scrape = await ScrapeUntilAsync(workerHttp, s => s.Value("farm_images_completed_total", m) == status.Images.Completed
                                                           && s.Value("farm_images_failed_total", m) == status.Images.Failed,
            "the worker's image counters");
        // Each rendered image is one render time; each step of the two jobs rendered is one step time.
        Assert.Equal(status.Images.Completed, scrape.Value("farm_image_render_duration_seconds_count", m, size));
        Assert.Equal(steps * 2, scrape.Value("farm_step_duration_seconds_count", m, size));
        Assert.True(scrape.Value("farm_image_render_duration_seconds_sum", m, size) > 0);

        scrape = await ScrapeUntilAsync(coordinator.Http, s => s.Value("farm_sweeps", ("state", status.State)) == 1,
            "the coordinator's sweep gauge");
        foreach (var state in new[] { "queued", "running", "completed", "cancelled" })
            Assert.Equal(0, scrape.Value("farm_sweeps", ("state", state)));
        Assert.Equal(1, scrape.Value("farm_workers_alive"));
        Assert.Equal(0, scrape.Value("farm_jobs_outstanding"));
        Assert.Equal(0, scrape.Value("farm_queue_depth", m));
        Assert.Equal(0, scrape.Value("farm_publish_lag_seconds"));
    }

    [Fact]
    public async Task While_a_worker_is_busy_the_coordinator_shows_the_jobs_out_and_those_waiting_in_the_queue()
    {
        stepDelay = TimeSpan.FromMilliseconds(300);
        await StartAsync(queuedPerPipeline: 3, batchSize: 1);
        // 12 jobs of 1 image; 3 are let out at a time: one delivered to the worker's single slot, 2 ready in the queue.
        var accepted = await coordinator.SubmitAsync($$"""{"model":"{{model}}","prompts":["a fox"],"seeds":{"start":0,"count":12},"steps":20,"width":16,"height":16}""");
        Assert.Equal(12, accepted.Jobs);
        await coordinator.WaitForStateAsync(accepted.Id, Deadline, "running");
        await ScrapeUntilAsync(coordinator.Http, s => s.Value("farm_jobs_outstanding") == 3 && s.Value("farm_queue_depth", ("model", model)) == 2
                                                      && s.Value("farm_sweeps", ("state", "running")) == 1,
            "3 jobs out, 2 of them queued");
        await coordinator.Http.DeleteAsync($"/v1/sweeps/{accepted.Id}");
        await ScrapeUntilAsync(coordinator.Http, s => s.Value("farm_sweeps", ("state", "cancelled")) == 1 && s.Value("farm_jobs_outstanding") == 0,
            "the cancelled sweep");
    }
}

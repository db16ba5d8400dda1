using System.Net;
using System.Net.Http.Json;
using Amazon.S3.Model;
using Farm.Coordinator;
using Farm.Coordinator.Api;
using Farm.GpuWorker.Tests.Support;
using Farm.Shared.Contracts;
using Farm.Shared.Layout;
using Farm.Testing;
using Xunit;

namespace Farm.GpuWorker.Tests.Failures;

/// <summary>
/// The failure layers above one job, through real RabbitMQ, Redis and s3rver with in-process workers whose renders
/// throw for chosen seeds: a sweep's failure limit and its retry, a worker blocklisted for a sweep, and a sweep
/// every worker is blocklisted for. Retries in place are off, so each failure is final on its worker at once.
/// </summary>
public sealed class FailureLayersFarmTests : IAsyncLifetime
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(90);

    private readonly string model = TestServices.UniqueName("tiny");
    private CoordinatorUnderTest coordinator = null!;
    private InProcessWorkers workers = null!;

    public async Task InitializeAsync()
    {
        coordinator = await CoordinatorUnderTest.StartAsync("failures",
            new CoordinatorOptions { DefaultBatchSize = 2, QueuedPerPipeline = 2, MaxWidth = 256, MaxHeight = 256 });
        workers = new InProcessWorkers(coordinator.Settings, model);
    }

    public async Task DisposeAsync()
    {
        await workers.DisposeAsync();
        await coordinator.DisposeAsync();
    }

    private static void NoRetries(WorkerOptions o)
    {
        o.Retries = 0;
        o.BlocklistHandBackDelay = TimeSpan.FromMilliseconds(200);
    }

    private string Spec(int seeds, string extra = "") =>
        $$"""{"model":"{{model}}","prompts":["p"],"seeds":{"start":0,"count":{{seeds}}},"steps":2,"width":8,"height":8{{extra}}}""";

    private async Task<List<ImageRecord>> RecordsAsync(string sweepId)
    {
        using var s3 = TestServices.CreateS3Client();
        var listed = await s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = coordinator.Bucket, Prefix = StorageKeys.ImagesPrefix(sweepId) });
        var records = new List<ImageRecord>();
        foreach (var o in (listed.S3Objects ?? []).Where(o => o.Key.EndsWith(".json")))
        {
            using var response = await s3.GetObjectAsync(coordinator.Bucket, o.Key);
            records.Add((await System.Text.Json.JsonSerializer.DeserializeAsync<ImageRecord>(response.ResponseStream, FarmJson.Options))!);
        }
        return records;
    }

    [Fact]
    public async Task Past_maxFailedImages_the_sweep_ends_failed_saying_why_and_a_retry_renders_only_the_failed_images()
    {
        var broken = true;
        // Seeds 0–9 fail while "broken" with an error of the job itself (not retried, not held against the worker).
        await workers.StartAsync("w1", seed => broken && seed < 10 ? new ArgumentException($"bad seed {seed}") : null, NoRetries);
        await coordinator.WaitForWorkersAsync(model, 1, Deadline);
        var sweep = await coordinator.SubmitAsync(Spec(20, ""","maxFailedImages":3"""));

        var failed = await coordinator.WaitForStateAsync(sweep.Id, Deadline, "failed");
        Assert.Contains("maxFailedImages (3)", failed.Reason);
        Assert.True(failed.Images.Failed > 3, $"{failed.Images.Failed} failed");
        // It stopped publishing: the last of the 20 images were never rendered.
        Assert.True(failed.Images.Completed < 10, $"{failed.Images.Completed} completed");

        broken = false;
        var renderedBefore = (await RecordsAsync(sweep.Id)).Count;
        using (var retry = await coordinator.Http.PostAsync($"/v1/sweeps/{sweep.Id}/retry", null))
        {
            Assert.Equal(HttpStatusCode.Accepted, retry.StatusCode);
            var retried = (await retry.Content.ReadFromJsonAsync<SweepRetried>(FarmJson.Options))!;
            Assert.Equal(failed.Images.Failed, retried.Images);
            Assert.Null(retried.Sweep.Reason);
        }
        var done = await coordinator.WaitForStateAsync(sweep.Id, Deadline, "completed", "failed");
        Assert.Equal(("completed", 20L, 0L), (done.State, done.Images.Completed, done.Images.Failed));
        var records = await RecordsAsync(sweep.Id);
        Assert.Equal(Enumerable.Range(0, 20).Select(i => (long)i), records.Select(r => r.Index).Order());
        Assert.True(renderedBefore < 20);
    }

    [Fact]
    public async Task A_worker_that_keeps_failing_a_sweeps_jobs_is_blocklisted_and_the_other_worker_renders_them_all()
    {
        await workers.StartAsync("bad", _ => new InvalidOperationException("CUDA error: an illegal memory access"), NoRetries);
        await workers.StartAsync("good", configure: NoRetries);
        await coordinator.WaitForWorkersAsync(model, 2, Deadline);
        var sweep = await coordinator.SubmitAsync(Spec(24));

        var done = await coordinator.WaitForStateAsync(sweep.Id, Deadline, "completed", "failed");
        Assert.Equal(("completed", 24L, 0L), (done.State, done.Images.Completed, done.Images.Failed));
        Assert.Equal(["bad"], done.BlocklistedWorkers!);
        Assert.All(await RecordsAsync(sweep.Id), r => Assert.Equal("good", r.Worker));
    }

    [Fact]
    public async Task When_every_worker_is_blocklisted_the_sweep_fails_saying_so_instead_of_waiting()
    {
        await workers.StartAsync("bad", _ => new InvalidOperationException("CUDA error: out of memory"), NoRetries);
        await coordinator.WaitForWorkersAsync(model, 1, Deadline);
        var sweep = await coordinator.SubmitAsync(Spec(40));

        var failed = await coordinator.WaitForStateAsync(sweep.Id, Deadline, "failed");
        Assert.Contains("blocklisted", failed.Reason);
        Assert.Contains("bad", failed.Reason);
        Assert.True(failed.Images.Completed + failed.Images.Failed < 40, "it did not render the whole sweep first");
    }

    [Fact]
    public async Task Retry_of_an_unknown_sweep_is_404()
    {
        using var response = await coordinator.Http.PostAsync("/v1/sweeps/sw-000000000000/retry", null);
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }
}

using System.Net.Http.Json;
using Amazon.S3.Model;
using Farm.Coordinator;
using Farm.GpuWorker.Tests.Support;
using Farm.Shared.Contracts;
using Farm.Shared.Layout;
using Farm.Testing;
using Xunit;

namespace Farm.GpuWorker.Tests.Failures;

/// <summary>
/// A worker process killed mid-job (SIGKILL, as a machine that loses power): once its heartbeat expires the
/// coordinator clears its running entries, RabbitMQ hands its unacknowledged job to the next worker, and the counts
/// stay exact. Real <c>farm worker --renderer simulated</c> processes on the real services.
/// </summary>
public sealed class DeadWorkerTests : IAsyncLifetime
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(90);

    private readonly string model = TestServices.UniqueName("sim");
    private readonly List<WorkerProcess> processes = [];
    private CoordinatorUnderTest coordinator = null!;

    public async Task InitializeAsync() =>
        coordinator = await CoordinatorUnderTest.StartAsync("dead",
            new CoordinatorOptions { DefaultBatchSize = 2, WorkerTimeout = TimeSpan.FromSeconds(3) });

    public async Task DisposeAsync()
    {
        foreach (var p in processes) p.Dispose();
        await coordinator.DisposeAsync();
    }

    private WorkerProcess StartWorker(string id, int msPerStep)
    {
        var worker = WorkerProcess.StartCli(id, coordinator.Settings, ["worker", "--renderer", $"simulated:{msPerStep}", "--models-served", model, "--id", id]);
        processes.Add(worker);
        return worker;
    }

    private string Output() => string.Join("\n", processes.Select(w => $"--- {w.Id}:\n{w.Output}"));

    [Fact]
    public async Task A_killed_workers_running_job_is_cleared_and_rendered_by_the_next_worker_with_exact_counts()
    {
        var doomed = StartWorker("doomed", msPerStep: 1000);
        await coordinator.WaitForWorkersAsync(model, 1, Deadline);
        var sweep = await coordinator.SubmitAsync($$"""{"model":"{{model}}","prompts":["p"],"seeds":[1,2,3,4],"steps":30,"width":8,"height":8}""");
        await CoordinatorUnderTest.WaitUntilAsync(async () => (await coordinator.StatusAsync(sweep.Id)).Images.Running > 0, Deadline, () => "a job running\n" + Output());

        doomed.Kill();
        await CoordinatorUnderTest.WaitUntilAsync(async () =>
        {
            var status = await coordinator.StatusAsync(sweep.Id);
            var workers = await coordinator.Http.GetFromJsonAsync<List<WorkerHeartbeat>>("/v1/workers", FarmJson.Options);
            return status.Images.Running == 0 && workers!.Count == 0;
        }, Deadline, "the dead worker's running job cleared");
        var orphaned = await coordinator.StatusAsync(sweep.Id);
        Assert.Equal(("running", 0L, 4L), (orphaned.State, orphaned.Images.Completed, orphaned.Images.Queued));

        StartWorker("heir", msPerStep: 1);
        var done = await coordinator.WaitForStateAsync(sweep.Id, Deadline, "completed", "failed");
        Assert.Equal(("completed", 4L, 0L), (done.State, done.Images.Completed, done.Images.Failed));
        using var s3 = TestServices.CreateS3Client();
        var listed = await s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = coordinator.Bucket, Prefix = StorageKeys.ImagesPrefix(sweep.Id) });
        Assert.Equal(8, listed.S3Objects.Count); // one PNG and one record per index
    }
}

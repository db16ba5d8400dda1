using Farm.Coordinator;
using Farm.GpuWorker.Tests.Support;
using Farm.Shared.Layout;
using Farm.Testing;
using StackExchange.Redis;
using Xunit;

namespace Farm.GpuWorker.Tests;

/// <summary>
/// The live view rebuilt from the bucket: Redis loses everything of the farm in the middle of a sweep, `farm sweeps
/// rebuild` (the CLI, as a process) writes the sweep back, and the sweep ends completed with every image exactly once.
/// </summary>
public sealed class RebuildFarmTests : IAsyncLifetime
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(120);

    private readonly string model = TestServices.UniqueName("tiny");
    private InProcessWorkers workers = null!;
    private CoordinatorUnderTest coordinator = null!;

    public async Task InitializeAsync()
    {
        coordinator = await CoordinatorUnderTest.StartAsync("rebuild",
            new CoordinatorOptions { DefaultBatchSize = 2, QueuedPerPipeline = 1, MaxImages = 1000, MaxWidth = 256, MaxHeight = 256 });
        workers = new InProcessWorkers(coordinator.Settings, model) { StepDelay = TimeSpan.FromMilliseconds(15) };
    }

    public async Task DisposeAsync()
    {
        try
        {
            await workers.DisposeAsync();
        }
        finally
        {
            await coordinator.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_sweep_whose_redis_keys_were_flushed_mid_render_is_rebuilt_from_the_bucket_and_completes_exactly_once_per_index()
    {
        const int images = 40;
        await workers.StartAsync("w1");
        await workers.StartAsync("w2");
        await coordinator.WaitForWorkersAsync(model, 2, Deadline);
        var accepted = await coordinator.SubmitAsync($$"""{"model":"{{model}}","prompts":["a fox"],"seeds":{"start":0,"count":{{images}}},"steps":5,"width":16,"height":16}""");
        await CoordinatorUnderTest.WaitUntilAsync(async () => (await coordinator.StatusAsync(accepted.Id)).Images.Completed >= 8, Deadline, "8 images completed");

        // Everything under the coordinator's prefix, as a Redis that lost its data (or an operator's FLUSHDB) leaves it.
        using var redis = await TestServices.ConnectRedisAsync();
        var db = redis.GetDatabase();
        var prefix = coordinator.Settings["FARM_REDIS_PREFIX"];
        var server = redis.GetServer(redis.GetEndPoints()[0]);
        var flushed = server.Keys(pattern: prefix + "*").ToArray();
        Assert.Contains(flushed, k => k == (RedisKey)coordinator.Keys.Done(accepted.Id));
        await db.KeyDeleteAsync(flushed);
        Assert.Equal(System.Net.HttpStatusCode.NotFound, (await coordinator.Http.GetAsync($"/v1/sweeps/{accepted.Id}")).StatusCode);
        // Workers keep going a moment without the sweep: what is rendering lands in the bucket, what starts is skipped.
        await Task.Delay(1000);

        var (code, output) = await WorkerProcess.RunCliAsync(TimeSpan.FromMinutes(1), coordinator.Settings, "sweeps", "rebuild", accepted.Id);
        Assert.True(code == 0, output);
        var said = System.Text.RegularExpressions.Regex.Match(output,
            $@"^rebuilt {accepted.Id} \(tenant anonymous\): (\d+) of {images} images stored; publishing resumes at job (\d+) of 20");
        Assert.True(said.Success, output);
        // Mid-sweep: some images were stored before the flush, not all; publishing resumes at or before the first missing.
        Assert.InRange(int.Parse(said.Groups[1].Value), 8, images - 1);
        Assert.InRange(int.Parse(said.Groups[2].Value), 4, int.Parse(said.Groups[1].Value) / 2);

        var status = await coordinator.WaitForStateAsync(accepted.Id, Deadline, "completed", "failed");
        Assert.Equal(("completed", images, 0L), (status.State, status.Images.Completed, status.Images.Failed));
        Assert.Equal(images, (long)await db.HashGetAsync(coordinator.Keys.Sweep(accepted.Id), "completed"));
        Assert.Equal(images, await db.StringBitCountAsync(coordinator.Keys.Done(accepted.Id)));

        using var s3 = TestServices.CreateS3Client();
        var keys = new List<string>();
        var request = new Amazon.S3.Model.ListObjectsV2Request { BucketName = coordinator.Bucket, Prefix = StorageKeys.ImagesPrefix(accepted.Id) };
        Amazon.S3.Model.ListObjectsV2Response page;
        do
        {
            page = await s3.ListObjectsV2Async(request);
            keys.AddRange(page.S3Objects?.Select(o => o.Key) ?? []);
            request.ContinuationToken = page.NextContinuationToken;
        } while (page.IsTruncated == true);
        Assert.Equal(Enumerable.Range(0, images).SelectMany(i => new[] { StorageKeys.Image(accepted.Id, i), StorageKeys.ImageRecord(accepted.Id, i) }).Order(StringComparer.Ordinal),
            keys);
    }
}

using System.Net;
using System.Net.Http.Json;
using Amazon.S3;
using Amazon.S3.Model;
using Farm.Coordinator;
using Farm.Coordinator.Api;
using Farm.Diffusion.Imaging;
using Farm.Diffusion.Pipelines;
using Farm.GpuWorker.Tests.Support;
using Farm.Infrastructure.Messaging;
using Farm.Shared.Contracts;
using Farm.Shared.Layout;
using Farm.Shared.Sweeps;
using Farm.Testing;
using RabbitMQ.Client;
using StackExchange.Redis;
using Xunit;

namespace Farm.GpuWorker.Tests;

/// <summary>
/// The farm as deployed, on the real engine: <c>farm worker</c> processes rendering the tiny model, a coordinator,
/// and real RabbitMQ, Redis and s3rver. Small images and few steps keep each test to seconds; the deadlines are
/// generous so a loaded machine is slow, not red, and a hung test still fails within about two minutes.
/// </summary>
public sealed class EngineFarmTests : IAsyncLifetime
{
    private static readonly TimeSpan Startup = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan Finish = TimeSpan.FromSeconds(90);

    private readonly string model = TestServices.UniqueName("tiny");
    private readonly Dictionary<string, WorkerProcess> workers = new(StringComparer.Ordinal);
    private TinyModels models = null!;
    private CoordinatorUnderTest coordinator = null!;
    private ConnectionMultiplexer redis = null!;
    private AmazonS3Client s3 = null!;

    public async Task InitializeAsync()
    {
        models = await TinyModels.CreateAsync(model);
        redis = await TestServices.ConnectRedisAsync();
        s3 = TestServices.CreateS3Client();
    }

    private async Task StartAsync(CoordinatorOptions options, params string[] workerIds)
    {
        coordinator = await CoordinatorUnderTest.StartAsync("engine", options);
        foreach (var id in workerIds) workers[id] = WorkerProcess.Start(id, models.Dir, coordinator.Settings);
        try
        {
            await coordinator.WaitForWorkersAsync(model, workerIds.Length, Startup);
        }
        catch (TimeoutException e)
        {
            throw new TimeoutException($"{e.Message}\n{WorkerOutput()}", e);
        }
    }

    public async Task DisposeAsync()
    {
        try
        {
            foreach (var worker in workers.Values) worker.Dispose();
        }
        finally
        {
            if (coordinator is not null) await coordinator.DisposeAsync();
            redis.Dispose();
            s3.Dispose();
            models.Dispose();
        }
    }

    private string WorkerOutput() => string.Join("\n", workers.Values.Select(w => $"--- {w.Id}{(w.HasExited ? " (exited)" : "")}:\n{w.Output}"));

    private async Task<SweepStatus> WaitForEndAsync(string id, TimeSpan timeout)
    {
        try
        {
            return await coordinator.WaitForStateAsync(id, timeout, "completed", "failed", "cancelled");
        }
        catch (TimeoutException e)
        {
            throw new TimeoutException($"{e.Message}\n{WorkerOutput()}", e);
        }
    }

    private async Task<List<string>> BucketKeysAsync(string sweepId)
    {
        var keys = new List<string>();
        var request = new ListObjectsV2Request { BucketName = coordinator.Bucket, Prefix = StorageKeys.ImagesPrefix(sweepId) };
        ListObjectsV2Response page;
        do
        {
            page = await s3.ListObjectsV2Async(request);
            keys.AddRange(page.S3Objects?.Select(o => o.Key) ?? []);
            request.ContinuationToken = page.NextContinuationToken;
        }
        while (page.IsTruncated == true);
        return keys.Order(StringComparer.Ordinal).ToList();
    }

    private async Task<byte[]> GetObjectAsync(string key)
    {
        using var response = await s3.GetObjectAsync(coordinator.Bucket, key);
        using var buffer = new MemoryStream();
        await response.ResponseStream.CopyToAsync(buffer);
        return buffer.ToArray();
    }

    private static List<string> ExpectedKeys(string sweepId, long images) =>
        Enumerable.Range(0, (int)images).SelectMany(i => new[] { StorageKeys.Image(sweepId, i), StorageKeys.ImageRecord(sweepId, i) })
            .Order(StringComparer.Ordinal).ToList();

    /// <summary>The job a worker is rendering now (a job hash in Redis past its first steps), with its worker and step.</summary>
    private async Task<(long Job, string Worker, int Step, int TotalSteps)?> RenderingJobAsync(string sweepId, long jobs, int minStep, double maxFraction)
    {
        var db = redis.GetDatabase();
        for (long j = 0; j < jobs; j++)
        {
            var fields = (await db.HashGetAllAsync(coordinator.Keys.Job(sweepId, j))).ToDictionary(e => (string)e.Name!, e => (string)e.Value!);
            if (fields.GetValueOrDefault("state") != "running" || !fields.TryGetValue("totalSteps", out var total)) continue;
            var (step, totalSteps) = (int.Parse(fields["step"]), int.Parse(total));
            if (step >= minStep && step <= totalSteps * maxFraction) return (j, fields["worker"], step, totalSteps);
        }
        return null;
    }

    [Fact]
    public async Task A_two_by_three_sweep_through_two_worker_processes_matches_local_renders_and_the_bucket()
    {
        await StartAsync(new CoordinatorOptions { DefaultBatchSize = 2, QueuedPerPipeline = 2, MaxWidth = 256, MaxHeight = 256 }, "w1", "w2");
        var json = $$"""{"model":"{{model}}","prompts":["a red fox","a castle at night"],"seeds":[1,2,3],"steps":4,"guidanceScale":7.5,"scheduler":"euler-a","width":64,"height":64}""";
        var accepted = await coordinator.SubmitAsync(json);
        Assert.Equal((6L, 4L), (accepted.Images, accepted.Jobs)); // seeds [1,2] and [3] per prompt

        var status = await WaitForEndAsync(accepted.Id, Finish);
        Assert.Equal("completed", status.State);
        Assert.Equal(new ImageCounts(6, 6, 0, 0, 0), status.Images);

        // The bucket holds exactly one PNG and one record per index, and the listing agrees with it.
        var keys = await BucketKeysAsync(accepted.Id);
        Assert.Equal(ExpectedKeys(accepted.Id, 6), keys);
        var page = (await coordinator.Http.GetFromJsonAsync<ImagePage>($"/v1/sweeps/{accepted.Id}/images", FarmJson.Options))!;
        Assert.Equal(6, page.Total);
        Assert.Equal(keys.Where(k => k.EndsWith(".png", StringComparison.Ordinal)), page.Items.Select(i => i.Key));
        Assert.All(page.Items, i => Assert.Equal("completed", i.State));
        var completedPage = (await coordinator.Http.GetFromJsonAsync<ImagePage>($"/v1/sweeps/{accepted.Id}/images?state=completed", FarmJson.Options))!;
        Assert.Equal((6L, 6), (completedPage.Total, completedPage.Items.Count));

        // Every stored image equals a local render of its job's seed batch, and is within one level of a render of its seed alone.
        var plan = new SweepPlan(SweepSpecParser.Parse(json).Spec!, 2);
        using var pipeline = StableDiffusionPipeline.Load(models.ModelDir, new PipelineOptions { Threads = 1 });
        foreach (var job in plan.Jobs(accepted.Id))
        {
            var batch = pipeline.Render(Request(job, job.Seeds));
            for (var k = 0; k < job.Seeds.Length; k++)
            {
                var index = job.FirstImageIndex + k;
                var item = page.Items.Single(i => i.Index == index);
                var bytes = await GetObjectAsync(StorageKeys.Image(accepted.Id, index));
                Assert.Equal(bytes, await coordinator.Http.GetByteArrayAsync(item.Url));
                var stored = PngDecoder.Decode(bytes);
                var metadata = GenerationMetadata.FromPngText(stored.Text)!;
                Assert.Equal((job.Prompt, job.Seeds[k], 4, 64, 64), (metadata.Prompt, metadata.Seed, metadata.Steps, metadata.Width, metadata.Height));
                Assert.Equal((item.Prompt, item.Seed), (job.Prompt, job.Seeds[k]));
                Assert.True(batch[k].Image.Pixels.AsSpan().SequenceEqual(stored.Image.Pixels), $"image {index} differs from a local render of the same batch");
                var alone = pipeline.Render(Request(job, [job.Seeds[k]]))[0];
                Assert.True(MaxAbsDifference(alone.Image, stored.Image) <= 1, $"image {index} is more than one level from a local render of seed {job.Seeds[k]} alone");
            }
        }
    }

    private static RenderRequest Request(RenderJob job, IReadOnlyList<long> seeds) => new()
    {
        Prompt = job.Prompt, NegativePrompt = job.NegativePrompt, Seeds = seeds, Steps = job.Steps, GuidanceScale = job.GuidanceScale,
        Scheduler = job.Scheduler, Width = job.Width, Height = job.Height,
    };

    private static int MaxAbsDifference(RgbImage a, RgbImage b)
    {
        Assert.Equal((a.Width, a.Height, a.Channels), (b.Width, b.Height, b.Channels));
        var max = 0;
        for (var i = 0; i < a.Pixels.Length; i++) max = Math.Max(max, Math.Abs(a.Pixels[i] - b.Pixels[i]));
        return max;
    }

    [Fact]
    public async Task A_worker_killed_mid_job_has_its_job_redelivered_and_finished_by_the_other_with_one_image_per_index()
    {
        await StartAsync(new CoordinatorOptions { DefaultBatchSize = 2, QueuedPerPipeline = 2, MaxWidth = 256, MaxHeight = 256 }, "w1", "w2");
        // Two jobs of two seeds, enough steps that each renders for a few seconds.
        var accepted = await coordinator.SubmitAsync($$"""{"model":"{{model}}","prompts":["a red fox"],"seeds":[1,2,3,4],"steps":120,"width":64,"height":64}""");
        Assert.Equal((4L, 2L), (accepted.Images, accepted.Jobs));

        (long Job, string Worker, int Step, int TotalSteps)? victim = null;
        await CoordinatorUnderTest.WaitUntilAsync(async () => (victim = await RenderingJobAsync(accepted.Id, 2, minStep: 2, maxFraction: 0.5)) is not null,
            Finish, "a job rendering on a worker");
        var (killedJob, killedWorker, _, _) = victim!.Value;
        workers[killedWorker].Kill();
        var survivor = workers.Keys.Single(id => id != killedWorker);

        var status = await WaitForEndAsync(accepted.Id, Finish);
        Assert.Equal("completed", status.State);
        Assert.Equal(new ImageCounts(4, 4, 0, 0, 0), status.Images);
        Assert.False(workers[survivor].HasExited, workers[survivor].Output);

        // Counted once per index: the raw counter, not only the clamped status.
        var db = redis.GetDatabase();
        Assert.Equal(4, (long)await db.HashGetAsync(coordinator.Keys.Sweep(accepted.Id), "completed"));
        Assert.Equal(4, await db.StringBitCountAsync(coordinator.Keys.Done(accepted.Id)));
        Assert.Equal(ExpectedKeys(accepted.Id, 4), await BucketKeysAsync(accepted.Id));
        for (var k = 0; k < 2; k++)
        {
            var record = FarmJson.Deserialize<ImageRecord>(System.Text.Encoding.UTF8.GetString(await GetObjectAsync(StorageKeys.ImageRecord(accepted.Id, killedJob * 2 + k))));
            Assert.Equal((killedJob, survivor), (record.JobIndex, record.Worker));
            PngDecoder.Decode(await GetObjectAsync(StorageKeys.Image(accepted.Id, killedJob * 2 + k)));
        }
    }

    [Fact]
    public async Task Cancelling_mid_sweep_on_the_real_engine_starts_no_new_renders_and_stops_running_ones_early()
    {
        await StartAsync(new CoordinatorOptions { DefaultBatchSize = 1, QueuedPerPipeline = 2, MaxWidth = 256, MaxHeight = 256 }, "w1", "w2");
        const int jobs = 12;
        var accepted = await coordinator.SubmitAsync($$"""{"model":"{{model}}","prompts":["a red fox"],"seeds":{"start":0,"count":{{jobs}}},"steps":120,"width":64,"height":64}""");
        await CoordinatorUnderTest.WaitUntilAsync(async () => await RenderingJobAsync(accepted.Id, jobs, minStep: 2, maxFraction: 0.5) is not null,
            Finish, "a job rendering on a worker");

        Assert.Equal(HttpStatusCode.Accepted, (await coordinator.Http.DeleteAsync($"/v1/sweeps/{accepted.Id}")).StatusCode);
        var db = redis.GetDatabase();
        // Running jobs stop at their next step, long before they would have finished.
        await CoordinatorUnderTest.WaitUntilAsync(async () => await db.HashLengthAsync(coordinator.Keys.Running(accepted.Id)) == 0,
            TimeSpan.FromSeconds(30), "running jobs stopping after cancel");
        // Queued jobs are consumed and skipped: the model's queue empties without any of them starting.
        await CoordinatorUnderTest.WaitUntilAsync(async () => await ReadyMessagesAsync(RenderTopology.QueueName(model)) == 0,
            TimeSpan.FromSeconds(30), "the queue draining after cancel");
        var atRest = await coordinator.StatusAsync(accepted.Id);
        Assert.Equal("cancelled", atRest.State);
        Assert.Equal(0, atRest.Images.Running);

        var states = new List<(long Job, string State, int Step, int TotalSteps)>();
        for (long j = 0; j < jobs; j++)
        {
            var fields = (await db.HashGetAllAsync(coordinator.Keys.Job(accepted.Id, j))).ToDictionary(e => (string)e.Name!, e => (string)e.Value!);
            if (fields.Count > 0)
                states.Add((j, fields["state"], int.Parse(fields.GetValueOrDefault("step", "0")), int.Parse(fields.GetValueOrDefault("totalSteps", "120"))));
        }
        var summary = string.Join(", ", states);
        Assert.DoesNotContain(states, s => s.State == "running");
        var stopped = states.Where(s => s.State != "completed").ToList();
        Assert.NotEmpty(stopped);
        Assert.All(stopped, s => Assert.True(s.State == "cancelled" && s.Step < s.TotalSteps, summary));
        // Started: the jobs finished before the cancel, plus at most one per worker that was rendering when it came.
        var completedJobs = states.Count(s => s.State == "completed");
        Assert.True(states.Count <= completedJobs + workers.Count, summary);
        Assert.Equal(atRest.Images.Completed, completedJobs);
        Assert.Equal(completedJobs * 2, (await BucketKeysAsync(accepted.Id)).Count);
        Assert.All(workers.Values, w => Assert.False(w.HasExited, w.Output));
    }

    private static async Task<uint> ReadyMessagesAsync(string queue)
    {
        var factory = new ConnectionFactory { Uri = TestServices.RabbitMqUrl };
        await using var connection = await factory.CreateConnectionAsync();
        await using var channel = await connection.CreateChannelAsync();
        return (await channel.QueueDeclarePassiveAsync(queue)).MessageCount;
    }
}

using System.Net.Http.Json;
using System.Text;
using Amazon.S3.Model;
using Farm.Coordinator;
using Farm.Coordinator.Api;
using Farm.Diffusion.Imaging;
using Farm.GpuWorker.Tests.Support;
using Farm.Infrastructure.Messaging;
using Farm.Shared.Contracts;
using Farm.Shared.Layout;
using Farm.Testing;
using RabbitMQ.Client;
using Xunit;

namespace Farm.GpuWorker.Tests;

/// <summary>
/// <c>farm worker --renderer simulated</c> processes on the real services: a whole sweep, and the injected faults
/// (<c>--fault fail-on-seed</c>, <c>crash-on-seed</c>) and a malformed message, each failing no more than it must.
/// One image per job (batch size 1), so a fault takes exactly one image with it.
/// </summary>
public sealed class SimulatedWorkerTests : IAsyncLifetime
{
    private static readonly TimeSpan Startup = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan Finish = TimeSpan.FromSeconds(120);
    private static readonly CoordinatorOptions Options = new() { DefaultBatchSize = 1, QueuedPerPipeline = 2 };

    private readonly string model = TestServices.UniqueName("sim");
    private readonly List<WorkerProcess> processes = [];
    private CoordinatorUnderTest coordinator = null!;

    public async Task InitializeAsync() => coordinator = await CoordinatorUnderTest.StartAsync("simulated", Options);

    public async Task DisposeAsync()
    {
        foreach (var p in processes) p.Dispose();
        await coordinator.DisposeAsync();
    }

    private string Output() => string.Join("\n", processes.Select(w => $"--- {w.Id}{(w.HasExited ? " (exited)" : "")}:\n{w.Output}"));

    private WorkerProcess StartWorker(string id, params string[] extra)
    {
        var worker = WorkerProcess.StartCli(id, coordinator.Settings,
            ["worker", "--renderer", "simulated:20", "--models-served", $"other-{model},{model}", "--id", id, .. extra]);
        processes.Add(worker);
        return worker;
    }

    private async Task<List<WorkerHeartbeat>> WorkersAsync() =>
        (await coordinator.Http.GetFromJsonAsync<List<WorkerHeartbeat>>("/v1/workers", FarmJson.Options))!;

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

    private Task WaitForWorkerAsync(string id) =>
        WaitAsync(async () => (await WorkersAsync()).Any(w => w.WorkerId == id), Startup, $"worker {id} announcing {model}");

    private Task<SweepAccepted> SubmitAsync(int images) =>
        coordinator.SubmitAsync($$"""{"model":"{{model}}","prompts":["a lighthouse at dusk"],"seeds":{"start":1,"count":{{images}}},"steps":10,"width":64,"height":48}""");

    private async Task<SweepStatus> FinishedAsync(string id)
    {
        try
        {
            return await coordinator.WaitForStateAsync(id, Finish, "completed", "failed", "cancelled");
        }
        catch (TimeoutException e)
        {
            throw new TimeoutException($"{e.Message}\n{Output()}", e);
        }
    }

    private async Task<List<string>> BucketKeysAsync(string sweepId)
    {
        using var s3 = TestServices.CreateS3Client();
        var response = await s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = coordinator.Bucket, Prefix = StorageKeys.ImagesPrefix(sweepId) });
        return (response.S3Objects ?? []).Select(o => o.Key).Order(StringComparer.Ordinal).ToList();
    }

    private static List<string> ExpectedKeys(string sweepId, IEnumerable<int> indices) =>
        indices.SelectMany(i => new[] { StorageKeys.Image(sweepId, i), StorageKeys.ImageRecord(sweepId, i) }).Order(StringComparer.Ordinal).ToList();

    private async Task<byte[]> GetObjectAsync(string key)
    {
        using var s3 = TestServices.CreateS3Client();
        using var response = await s3.GetObjectAsync(coordinator.Bucket, key);
        using var memory = new MemoryStream();
        await response.ResponseStream.CopyToAsync(memory);
        return memory.ToArray();
    }

    private async Task<List<ImageItem>> FailedImagesAsync(string sweepId) =>
        (await coordinator.Http.GetFromJsonAsync<ImagePage>($"/v1/sweeps/{sweepId}/images?state=failed", FarmJson.Options))!.Items.ToList();

    [Fact]
    public async Task A_sweep_on_a_simulated_worker_completes_with_one_png_per_index_each_saying_renderer_simulated()
    {
        StartWorker("sim-1");
        await WaitForWorkerAsync("sim-1");
        var announced = (await WorkersAsync()).Single(w => w.WorkerId == "sim-1");
        Assert.Equal("simulated", announced.Renderer);
        Assert.Equal([$"other-{model}", model], announced.Models);
        Assert.Contains("\"renderer\":\"simulated\"", await coordinator.Http.GetStringAsync("/v1/workers"));

        var accepted = await SubmitAsync(6);
        var status = await FinishedAsync(accepted.Id);
        Assert.Equal(("completed", new ImageCounts(6, 6, 0, 0, 0)), (status.State, status.Images));
        Assert.Equal(ExpectedKeys(accepted.Id, Enumerable.Range(0, 6)), await BucketKeysAsync(accepted.Id));
        for (var index = 0; index < 6; index++)
        {
            var png = PngDecoder.Decode(await GetObjectAsync(StorageKeys.Image(accepted.Id, index)));
            var metadata = GenerationMetadata.FromPngText(png.Text)!;
            Assert.Equal(("simulated", "simulated", model, 1L + index, 10, "a lighthouse at dusk"),
                (metadata.Renderer, metadata.EngineVersion, metadata.ModelName, metadata.Seed, metadata.Steps, metadata.Prompt));
            Assert.Equal((64, 48, 64, 48), (png.Image.Width, png.Image.Height, metadata.Width, metadata.Height));
            Assert.Contains("\"renderer\":\"simulated\"", png.Text[GenerationMetadata.JsonKeyword]);
            var record = FarmJson.Deserialize<ImageRecord>(Encoding.UTF8.GetString(await GetObjectAsync(StorageKeys.ImageRecord(accepted.Id, index))));
            // Ten steps of 20 ms each: the steps were taken, not skipped.
            Assert.True(record.RenderSeconds >= 0.2, $"image {index} rendered in {record.RenderSeconds:F3} s, under 10 steps of 20 ms");
            Assert.Equal(("simulated", "sim-1"), (record.EngineVersion, record.Worker));
        }
    }

    [Fact]
    public async Task Fail_on_seed_fails_only_that_image_with_its_reason_and_the_rest_completes()
    {
        StartWorker("sim-fail", "--fault", "fail-on-seed=3");
        await WaitForWorkerAsync("sim-fail");

        var accepted = await SubmitAsync(6);
        var status = await FinishedAsync(accepted.Id);
        Assert.Equal(("failed", new ImageCounts(6, 5, 1, 0, 0)), (status.State, status.Images));
        var failed = Assert.Single(await FailedImagesAsync(accepted.Id));
        Assert.Equal((2L, 3L), (failed.Index, failed.Seed));
        Assert.Contains("fail-on-seed=3", failed.Error);
        Assert.Equal(ExpectedKeys(accepted.Id, [0, 1, 3, 4, 5]), await BucketKeysAsync(accepted.Id));
        Assert.False(processes[0].HasExited, "the worker stopped\n" + Output());
    }

    [Fact]
    public async Task Crash_on_seed_kills_each_worker_that_takes_it_then_fails_that_image_at_the_delivery_limit_and_the_rest_completes()
    {
        var worker = StartWorker("sim-crash-0", "--fault", "crash-on-seed=4");
        await WaitForWorkerAsync("sim-crash-0");
        var accepted = await SubmitAsync(6);
        // A supervisor's loop, as systemd or Kubernetes would restart a worker killed by its GPU driver.
        var crashes = 0;
        var deadline = DateTime.UtcNow + Finish;
        while (true)
        {
            var status = await coordinator.StatusAsync(accepted.Id);
            if (status.State is "completed" or "failed") break;
            Assert.True(DateTime.UtcNow < deadline, $"sweep still {status.State} ({status.Images}) after {crashes} crashes\n{Output()}");
            if (worker.HasExited)
            {
                crashes++;
                Assert.True(crashes <= 10, $"more crashes than the delivery limit allows\n{Output()}");
                Assert.Contains("crash-on-seed=4", worker.Output);
                worker = StartWorker($"sim-crash-{crashes}", "--fault", "crash-on-seed=4");
            }
            await Task.Delay(200);
        }

        var final = await coordinator.StatusAsync(accepted.Id);
        Assert.Equal(("failed", new ImageCounts(6, 5, 1, 0, 0)), (final.State, final.Images));
        Assert.Equal(new WorkerOptions().DeliveryLimit, crashes);
        var failed = Assert.Single(await FailedImagesAsync(accepted.Id));
        Assert.Equal((3L, 4L), (failed.Index, failed.Seed));
        Assert.Contains($"this job was delivered {crashes} times and never finished", failed.Error);
        Assert.Equal(ExpectedKeys(accepted.Id, [0, 1, 2, 4, 5]), await BucketKeysAsync(accepted.Id));
        Assert.False(worker.HasExited, "the last worker stopped\n" + Output());
    }

    [Fact]
    public async Task Hang_on_seed_blocks_that_render_until_its_sweep_is_cancelled_and_the_worker_goes_on_serving()
    {
        var worker = StartWorker("sim-hang", "--fault", "hang-on-seed=2");
        await WaitForWorkerAsync("sim-hang");
        var hung = await SubmitAsync(3);
        SweepStatus? seen = null;
        await WaitAsync(async () => (seen = await coordinator.StatusAsync(hung.Id)).Images is { Completed: 1, Running: 1 }, Finish, "image 1 hanging");
        await Task.Delay(TimeSpan.FromSeconds(2));
        Assert.Equal(new ImageCounts(3, 1, 0, 1, 1), (await coordinator.StatusAsync(hung.Id)).Images);

        using (var cancel = await coordinator.Http.DeleteAsync($"/v1/sweeps/{hung.Id}")) Assert.True(cancel.IsSuccessStatusCode, $"{cancel.StatusCode}");
        Assert.Equal("cancelled", (await FinishedAsync(hung.Id)).State);
        await WaitAsync(() => Task.FromResult(worker.Output.Contains($"job {hung.Id}/1 stopped: sweep cancelled")), Finish, "the hung job stopping");
        Assert.Equal(ExpectedKeys(hung.Id, [0]), await BucketKeysAsync(hung.Id));

        var next = await coordinator.SubmitAsync($$"""{"model":"{{model}}","prompts":["after the hang"],"seeds":[7],"steps":2,"width":32,"height":32}""");
        Assert.Equal("completed", (await FinishedAsync(next.Id)).State);
        Assert.False(worker.HasExited, "the worker stopped\n" + Output());
    }

    [Fact]
    public async Task A_malformed_message_on_a_model_queue_is_dead_lettered_and_the_worker_keeps_serving()
    {
        var worker = StartWorker("sim-poison");
        await WaitForWorkerAsync("sim-poison");
        var factory = new ConnectionFactory { Uri = TestServices.RabbitMqUrl };
        await using var connection = await factory.CreateConnectionAsync();
        await using var channel = await connection.CreateChannelAsync();
        var properties = new BasicProperties { ContentType = "application/vnd.masstransit+json", Persistent = true };
        await channel.BasicPublishAsync("", RenderTopology.QueueName(model), mandatory: true, properties, Encoding.UTF8.GetBytes("{ this is not a render job"));

        var accepted = await SubmitAsync(3);
        var status = await FinishedAsync(accepted.Id);
        Assert.Equal(("completed", new ImageCounts(3, 3, 0, 0, 0)), (status.State, status.Images));
        Assert.False(worker.HasExited, "the worker stopped\n" + Output());
        await WaitAsync(async () => (await channel.QueueDeclarePassiveAsync(RenderTopology.DeadLetterQueueName(model))).MessageCount == 1,
            TimeSpan.FromSeconds(30), $"the malformed message in {RenderTopology.DeadLetterQueueName(model)}");
        var dead = await channel.BasicGetAsync(RenderTopology.DeadLetterQueueName(model), autoAck: true);
        Assert.Equal("{ this is not a render job", Encoding.UTF8.GetString(dead!.Body.Span));
        Assert.Equal(0u, (await channel.QueueDeclarePassiveAsync(RenderTopology.QueueName(model))).MessageCount);
    }
}

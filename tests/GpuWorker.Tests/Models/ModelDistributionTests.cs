using System.Text;
using System.Text.Json;
using Farm.Coordinator;
using Farm.Diffusion.Imaging;
using Farm.Diffusion.Pipelines;
using Farm.GpuWorker.Models;
using Farm.GpuWorker.Tests.Support;
using Farm.Infrastructure;
using Farm.Infrastructure.Storage;
using Farm.Shared.Contracts;
using Farm.Shared.Layout;
using Farm.Shared.Sweeps;
using Farm.Testing;
using Xunit;

namespace Farm.GpuWorker.Tests.Models;

/// <summary>
/// Models distributed through the bucket: the tiny model pushed to s3rver, then a real <c>farm worker
/// --models-from-bucket</c> process with an empty models folder downloads, verifies and renders it, or refuses a
/// corrupted object naming its key.
/// </summary>
public sealed class ModelDistributionTests : IAsyncLifetime
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(180);

    private readonly string model = TestServices.UniqueName("pushed");
    private readonly string empty = Directory.CreateTempSubdirectory("farm-empty-models-").FullName;
    private readonly string cache = Directory.CreateTempSubdirectory("farm-model-cache-").FullName;
    private readonly List<WorkerProcess> processes = [];
    private CoordinatorUnderTest coordinator = null!;
    private TinyModels tiny = null!;
    private S3ObjectStore bucket = null!;

    public async Task InitializeAsync()
    {
        coordinator = await CoordinatorUnderTest.StartAsync("models", new CoordinatorOptions { DefaultBatchSize = 2, MaxWidth = 256, MaxHeight = 256 });
        tiny = await TinyModels.CreateAsync(model);
        bucket = new S3ObjectStore(new S3Options
        {
            Url = TestServices.S3Url.ToString(), Bucket = coordinator.Bucket, AccessKey = TestServices.S3AccessKey, SecretKey = TestServices.S3SecretKey,
        });
    }

    public async Task DisposeAsync()
    {
        foreach (var p in processes) p.Dispose();
        bucket.Dispose();
        tiny.Dispose();
        Directory.Delete(empty, recursive: true);
        Directory.Delete(cache, recursive: true);
        await coordinator.DisposeAsync();
    }

    private async Task StartBucketWorkerAsync()
    {
        processes.Add(WorkerProcess.StartCli("remote", coordinator.Settings,
            "worker", "--models", empty, "--models-from-bucket", "--model-cache", cache, "--id", "remote", "--threads", "1"));
        try
        {
            await coordinator.WaitForWorkersAsync(model, 1, Deadline);
        }
        catch (TimeoutException e)
        {
            throw new TimeoutException($"{e.Message}\n{processes[^1].Output}", e);
        }
    }

    private string Spec => $$"""{"model":"{{model}}","prompts":["a red fox"],"seeds":[1,2],"steps":3,"width":64,"height":64}""";

    [Fact]
    public async Task A_pushed_model_is_downloaded_verified_and_rendered_byte_identically_to_the_local_folder()
    {
        var manifest = await ModelPusher.PushAsync(bucket, tiny.ModelDir, model, null, null, CancellationToken.None);
        Assert.Contains(manifest.Files, f => f.Path == $"{model}/model_index.json");
        Assert.All(manifest.Files, f => Assert.Equal(64, f.Sha256.Length));

        await StartBucketWorkerAsync();
        var sweep = await coordinator.SubmitAsync(Spec);
        var status = await coordinator.WaitForStateAsync(sweep.Id, Deadline, "completed", "failed");
        Assert.True(status.State == "completed", $"{status.State}: {processes[0].Output}");

        // The same job rendered here from the local folder: the same pixels, and the record names the same weights.
        using var pipeline = StableDiffusionPipeline.Load(tiny.ModelDir, new PipelineOptions { Threads = 1 });
        var job = new SweepPlan(SweepSpecParser.Parse(Spec).Spec!, 2).Job(sweep.Id, 0);
        var local = pipeline.Render(new RenderRequest
        {
            Prompt = job.Prompt, NegativePrompt = job.NegativePrompt, Seeds = job.Seeds, Steps = job.Steps, GuidanceScale = job.GuidanceScale,
            Scheduler = job.Scheduler, Width = job.Width, Height = job.Height,
        });
        for (var i = 0; i < 2; i++)
        {
            var stored = PngDecoder.Decode((await bucket.GetAsync(StorageKeys.Image(sweep.Id, i)))!);
            Assert.True(local[i].Image.Pixels.AsSpan().SequenceEqual(stored.Image.Pixels), $"image {i} differs from a render of the local folder");
            var record = JsonSerializer.Deserialize<ImageRecord>((await bucket.GetAsync(StorageKeys.ImageRecord(sweep.Id, i)))!, FarmJson.Options)!;
            Assert.StartsWith(record.ModelHash, manifest.WeightsSha256);
        }
        Assert.True(File.Exists(Path.Combine(cache, model, "model_index.json")), "the model is in the worker's cache");
    }

    [Fact]
    public async Task A_corrupted_object_in_the_bucket_is_refused_naming_its_key_and_never_loaded()
    {
        var manifest = await ModelPusher.PushAsync(bucket, tiny.ModelDir, model, null, null, CancellationToken.None);
        var victim = manifest.Files.First(f => f.Path.EndsWith(".safetensors", StringComparison.Ordinal));
        var key = StorageKeys.ModelFile(model, victim.Path);
        var bytes = (await bucket.GetAsync(key))!;
        bytes[^1] ^= 0xFF;
        await bucket.PutAsync(key, bytes, "application/octet-stream");

        await StartBucketWorkerAsync();
        var sweep = await coordinator.SubmitAsync(Spec);
        var status = await coordinator.WaitForStateAsync(sweep.Id, Deadline, "completed", "failed");
        Assert.Equal(("failed", 0L), (status.State, status.Images.Completed));
        var error = Encoding.UTF8.GetString(await coordinator.Http.GetByteArrayAsync($"/v1/sweeps/{sweep.Id}/images?state=failed"));
        Assert.Contains(key, error);
        Assert.Contains("does not match its manifest", error);
        Assert.False(File.Exists(Path.Combine(cache, model, "model_index.json")), "nothing of a corrupted download is put in place");
    }
}

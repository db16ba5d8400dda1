using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Amazon.S3;
using Farm.Coordinator;
using Farm.Coordinator.Api;
using Farm.Diffusion.Imaging;
using Farm.GpuWorker.Tests.Support;
using Farm.Shared.Contracts;
using Farm.Shared.Layout;
using Farm.Testing;
using Xunit;

namespace Farm.GpuWorker.Tests;

/// <summary>
/// A sweep over two models and a LoRA's scales, through a real coordinator, two <c>farm worker</c> processes on the
/// real engine, RabbitMQ, Redis and s3rver. Each worker serves one of the models (the sd-tiny fixture under two
/// names), so a job rendered at all was routed to its model's queue. The images are checked against diffusers'
/// goldens for that LoRA at scales 0, 0.5 and 1 (adapters fixture), and an embedding set no worker has fails its
/// images alone, with the adapter's name.
/// </summary>
public sealed class SweepAxesFarmTests : IAsyncLifetime
{
    private static readonly TimeSpan Startup = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan Finish = TimeSpan.FromSeconds(150);
    private const string Prompt = "a photograph of an astronaut riding a horse"; // the adapters fixture's LoRA cases

    private readonly string m1 = TestServices.UniqueName("sd-a");
    private readonly string m2 = TestServices.UniqueName("sd-b");
    private readonly List<string> dirs = [];
    private readonly Dictionary<string, WorkerProcess> workers = new(StringComparer.Ordinal);
    private CoordinatorUnderTest? coordinator;
    private AmazonS3Client s3 = null!;

    public Task InitializeAsync()
    {
        s3 = TestServices.CreateS3Client();
        return Task.CompletedTask;
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
            s3.Dispose();
            foreach (var dir in dirs) Directory.Delete(dir, recursive: true);
        }
    }

    // A models folder with the sd-tiny fixture as MODEL and LoRA A (kohya) as loras/lora_a, by symbolic links.
    private string ModelsFolder(string model)
    {
        var dir = Directory.CreateTempSubdirectory("farm-axes-").FullName;
        dirs.Add(dir);
        Directory.CreateSymbolicLink(Path.Combine(dir, model), Fixtures.Model(Fixtures.SdTiny));
        Directory.CreateDirectory(Path.Combine(dir, "loras"));
        File.CreateSymbolicLink(Path.Combine(dir, "loras", "lora_a.safetensors"), Fixtures.PathIn(Fixtures.Adapters, "files", "lora_a.kohya.safetensors"));
        return dir;
    }

    private string WorkerOutput() => string.Join("\n", workers.Values.Select(w => $"--- {w.Id}{(w.HasExited ? " (exited)" : "")}:\n{w.Output}"));

    private async Task<byte[]> GetObjectAsync(string key)
    {
        using var response = await s3.GetObjectAsync(coordinator!.Bucket, key);
        using var buffer = new MemoryStream();
        await response.ResponseStream.CopyToAsync(buffer);
        return buffer.ToArray();
    }

    [SkippableFact]
    public async Task A_two_model_lora_scale_sweep_routes_each_job_to_its_model_and_renders_the_goldens()
    {
        var w1Models = ModelsFolder(m1);
        var w2Models = ModelsFolder(m2);
        // An embedding only w2 has: the farm knows it, so the sweep is accepted, and w1 fails the jobs that need it.
        Directory.CreateDirectory(Path.Combine(w2Models, "embeddings"));
        File.CreateSymbolicLink(Path.Combine(w2Models, "embeddings", "only_on_w2.safetensors"), Fixtures.PathIn(Fixtures.Adapters, "files", "emb1.a1111.safetensors"));
        coordinator = await CoordinatorUnderTest.StartAsync("axes", new CoordinatorOptions { DefaultBatchSize = 1, QueuedPerPipeline = 2, MaxWidth = 256, MaxHeight = 256 });
        workers["w1"] = WorkerProcess.Start("w1", w1Models, coordinator.Settings);
        workers["w2"] = WorkerProcess.Start("w2", w2Models, coordinator.Settings);
        try
        {
            await coordinator.WaitForWorkersAsync(m1, 1, Startup);
            await coordinator.WaitForWorkersAsync(m2, 1, Startup);
        }
        catch (TimeoutException e)
        {
            throw new TimeoutException($"{e.Message}\n{WorkerOutput()}", e);
        }

        // The fixture's parameters: 64x64, euler ancestral, guidance 7.5, 8 steps, seed 42.
        var json = $$"""
            {"model":["{{m1}}","{{m2}}"],"prompts":["{{Prompt}}"],"seeds":[42],"steps":8,"guidanceScale":7.5,"scheduler":"euler-a","size":"64x64",
             "loras":[{"name":"lora_a","scale":[0,0.5,1]}],"embeddings":[[],["only_on_w2"]]}
            """;
        // An embedding no live worker has is refused before anything is queued, naming the field.
        using (var refused = await coordinator.Http.PostAsync("/v1/sweeps", new StringContent(json.Replace("only_on_w2", "not_on_any_worker"), Encoding.UTF8, "application/json")))
        {
            Assert.Equal(System.Net.HttpStatusCode.BadRequest, refused.StatusCode);
            Assert.Contains("no live worker has the embedding 'not_on_any_worker'", await refused.Content.ReadAsStringAsync());
        }
        var accepted = await coordinator.SubmitAsync(json);
        Assert.Equal((12L, 12L), (accepted.Images, accepted.Jobs)); // 2 models × 3 scales × 2 embedding sets × 1 seed

        SweepStatus status;
        try
        {
            status = await coordinator.WaitForStateAsync(accepted.Id, Finish, "completed", "failed", "cancelled");
        }
        catch (TimeoutException e)
        {
            throw new TimeoutException($"{e.Message}\n{WorkerOutput()}", e);
        }
        var page = (await coordinator.Http.GetFromJsonAsync<ImagePage>($"/v1/sweeps/{accepted.Id}/images", FarmJson.Options))!;
        // w1 lacks the embedding: its 3 images with it fail; the other 9 render (the embedding's token is not in the prompt).
        Assert.True(new ImageCounts(12, 9, 3, 0, 0) == status.Images,
            $"{status.Images}: {string.Join("; ", page.Items.Select(i => $"{i.Index} {i.State} {i.Error}"))}");
        Assert.Equal("failed", status.State);
        Assert.Equal(12, page.Items.Count);
        string[] scaleCases = ["lora_kohya_scale0", "lora_kohya_scale0.5", "lora_kohya_scale1"];
        double[] scales = [0, 0.5, 1];
        // Documented order: model outermost, then loras.lora_a, then embeddings ([] before ["only_on_w2"]), seed innermost.
        for (var m = 0; m < 2; m++)
            for (var s = 0; s < 3; s++)
            {
                var index = m * 6 + s * 2;
                var model = m == 0 ? m1 : m2;
                var rendered = page.Items.Single(i => i.Index == index);
                Assert.Equal(("completed", model), (rendered.State, rendered.Model));
                var record = FarmJson.Deserialize<ImageRecord>(Encoding.UTF8.GetString(await GetObjectAsync(StorageKeys.ImageRecord(accepted.Id, index))));
                // Only the worker serving the model has its queue: who rendered it shows the routing.
                Assert.Equal((model, m == 0 ? "w1" : "w2", 42L), (record.Model, record.Worker, record.Seed));
                Assert.Equal([new JobLora("lora_a", scales[s])], record.Loras!);
                var stored = PngDecoder.Decode(await GetObjectAsync(StorageKeys.Image(accepted.Id, index)));
                var golden = PngDecoder.Decode(File.ReadAllBytes(Fixtures.PathIn(Fixtures.Adapters, "cases", scaleCases[s], "image_0.png")));
                // The fixture's own tolerance for one thread against its two: at most one level per value.
                Assert.True(MaxAbsDifference(golden.Image, stored.Image) <= 1, $"image {index} ({model}, LoRA scale {scales[s]}) differs from diffusers' {scaleCases[s]}");

                var withEmbedding = page.Items.Single(i => i.Index == index + 1);
                if (m == 0)
                {
                    Assert.Equal("failed", withEmbedding.State);
                    Assert.Contains("embedding 'only_on_w2' is not on this worker", withEmbedding.Error);
                }
                else
                {
                    Assert.Equal("completed", withEmbedding.State);
                    var loaded = PngDecoder.Decode(await GetObjectAsync(StorageKeys.Image(accepted.Id, index + 1)));
                    Assert.True(MaxAbsDifference(golden.Image, loaded.Image) <= 1, $"image {index + 1}: an embedding whose token the prompt lacks changed the image");
                }
            }

        // The manifest records every axis, in index order, with its value count.
        var manifest = JsonNode.Parse(await GetObjectAsync(StorageKeys.Manifest(accepted.Id)))!;
        var axes = manifest["axes"]!.AsArray().Select(a => ((string)a!["name"]!, (int)a["values"]!)).Where(a => a.Item2 > 1).ToList();
        Assert.Equal([("model", 2), ("loras.lora_a", 3), ("embeddings", 2)], axes);
        Assert.Equal(2, manifest["spec"]!["model"]!.AsArray().Count);
        Assert.All(workers.Values, w => Assert.False(w.HasExited, w.Output));
    }

    private static int MaxAbsDifference(RgbImage a, RgbImage b)
    {
        Assert.Equal((a.Width, a.Height, a.Channels), (b.Width, b.Height, b.Channels));
        var max = 0;
        for (var i = 0; i < a.Pixels.Length; i++) max = Math.Max(max, Math.Abs(a.Pixels[i] - b.Pixels[i]));
        return max;
    }
}

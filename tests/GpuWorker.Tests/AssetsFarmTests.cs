using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
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
/// img2img and inpainting through the farm: an init image (and a mask) uploaded with POST /v1/assets, a sweep over
/// strengths, <c>farm worker</c> processes fetching the assets from s3rver, on RabbitMQ and Redis. The simulated
/// renderer shows the farm path; the real engine on the sd-tiny fixture renders diffusers' img2img and inpaint goldens.
/// </summary>
public sealed class AssetsFarmTests : IAsyncLifetime
{
    private static readonly TimeSpan Startup = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan Finish = TimeSpan.FromSeconds(150);

    private readonly string model = TestServices.UniqueName("img2img");
    private readonly List<WorkerProcess> workers = [];
    private readonly List<string> dirs = [];
    private CoordinatorUnderTest coordinator = null!;
    private AmazonS3Client s3 = null!;

    public async Task InitializeAsync()
    {
        s3 = TestServices.CreateS3Client();
        coordinator = await CoordinatorUnderTest.StartAsync("assets-farm", new CoordinatorOptions { DefaultBatchSize = 1, QueuedPerPipeline = 2, MaxWidth = 256, MaxHeight = 256 });
    }

    public async Task DisposeAsync()
    {
        foreach (var worker in workers) worker.Dispose();
        await coordinator.DisposeAsync();
        s3.Dispose();
        foreach (var dir in dirs) Directory.Delete(dir, recursive: true);
    }

    private string Output() => string.Join("\n", workers.Select(w => $"--- {w.Id}{(w.HasExited ? " (exited)" : "")}:\n{w.Output}"));

    private async Task<string> UploadAsync(byte[] image)
    {
        using var response = await coordinator.Http.PostAsync("/v1/assets", new ByteArrayContent(image));
        Assert.True(response.StatusCode == HttpStatusCode.Created, $"{response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
    }

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

    private async Task StartedAsync(WorkerProcess worker)
    {
        workers.Add(worker);
        try
        {
            await coordinator.WaitForWorkersAsync(model, 1, Startup);
        }
        catch (TimeoutException e)
        {
            throw new TimeoutException($"{e.Message}\n{Output()}", e);
        }
    }

    private async Task<byte[]> GetObjectAsync(string key)
    {
        using var response = await s3.GetObjectAsync(coordinator.Bucket, key);
        using var buffer = new MemoryStream();
        await response.ResponseStream.CopyToAsync(buffer);
        return buffer.ToArray();
    }

    private async Task<ImageRecord> RecordAsync(string sweep, long index) =>
        FarmJson.Deserialize<ImageRecord>(Encoding.UTF8.GetString(await GetObjectAsync(StorageKeys.ImageRecord(sweep, index))));

    [Fact]
    public async Task An_img2img_sweep_over_two_strengths_renders_one_image_per_index_at_the_init_images_size_with_its_strength_recorded()
    {
        await StartedAsync(WorkerProcess.StartCli("sim-img2img", coordinator.Settings, ["worker", "--renderer", "simulated", "--models-served", model, "--id", "sim-img2img"]));
        var init = await UploadAsync(TestImages.Encode(SkiaSharp.SKEncodedImageFormat.Jpeg, 96, 64));
        var mask = await UploadAsync(TestImages.Mask(96, 64, white: true));

        var accepted = await coordinator.SubmitAsync($$"""
            {"model":"{{model}}","prompts":["a lighthouse at dusk"],"seeds":[1, 2],"steps":10,"init":"{{init}}","mask":"{{mask}}","strength":[0.3, 0.8]}
            """);
        Assert.Equal((4L, 4L), (accepted.Images, accepted.Jobs));
        var status = await FinishedAsync(accepted.Id);
        Assert.True(("completed", new ImageCounts(4, 4, 0, 0, 0)) == (status.State, status.Images), $"{status.State} {status.Images}\n{Output()}");

        // Documented order: strength before the seed, which is innermost.
        (double Strength, long Seed)[] expected = [(0.3, 1), (0.3, 2), (0.8, 1), (0.8, 2)];
        var ids = new HashSet<string>();
        for (var index = 0; index < 4; index++)
        {
            var record = await RecordAsync(accepted.Id, index);
            Assert.Equal((expected[index].Strength, expected[index].Seed, init, mask), (record.Strength, record.Seed, record.InitAsset, record.MaskAsset));
            Assert.Equal((96, 64), (record.Width, record.Height));
            ids.Add(record.Id);
            var png = PngDecoder.Decode(await GetObjectAsync(StorageKeys.Image(accepted.Id, index)));
            Assert.Equal((96, 64), (png.Image.Width, png.Image.Height));
            var metadata = GenerationMetadata.FromPngText(png.Text)!;
            Assert.Equal((expected[index].Strength, true), (metadata.Strength, metadata.Masked));
        }
        Assert.Equal(4, ids.Count);
        var page = (await coordinator.Http.GetFromJsonAsync<ImagePage>($"/v1/sweeps/{accepted.Id}/images", FarmJson.Options))!;
        Assert.Equal(ids.Order(), page.Items.Select(i => i.Id).Order());
    }

    [Fact]
    public async Task A_job_whose_asset_is_gone_from_the_bucket_fails_with_the_reason_and_the_worker_lives_on()
    {
        await StartedAsync(WorkerProcess.StartCli("sim-gone", coordinator.Settings, ["worker", "--renderer", "simulated", "--models-served", model, "--id", "sim-gone"]));
        var init = await UploadAsync(TestImages.Png(64, 64));
        var accepted = await coordinator.SubmitAsync($$"""{"model":"{{model}}","prompts":["a cat"],"seeds":[1],"steps":4,"init":"{{init}}"}""");
        // Accepted while the asset existed; removed before a worker fetches it (a bucket lifecycle rule, say).
        await s3.DeleteObjectAsync(coordinator.Bucket, StorageKeys.Asset(init));
        var status = await FinishedAsync(accepted.Id);
        Assert.Equal(("failed", 1L), (status.State, status.Images.Failed));
        var failed = (await coordinator.Http.GetFromJsonAsync<ImagePage>($"/v1/sweeps/{accepted.Id}/images?state=failed", FarmJson.Options))!.Items.Single();
        Assert.Contains($"asset {init} is not in the bucket", failed.Error);
        Assert.False(workers[0].HasExited, Output());
    }

    [SkippableFact]
    public async Task The_engine_renders_diffusers_img2img_and_inpaint_goldens_from_uploaded_assets()
    {
        var models = Directory.CreateTempSubdirectory("farm-img2img-").FullName;
        dirs.Add(models);
        Directory.CreateSymbolicLink(Path.Combine(models, model), Fixtures.Model(Fixtures.SdTiny));
        await StartedAsync(WorkerProcess.Start("engine-img2img", models, coordinator.Settings));

        // The fixture's cases: 64x64 init images (no size in the spec: the init image's is taken), PNDM, 10 steps, guidance 7.5.
        var img2img = Fixtures.CaseIn(Fixtures.SdTiny, "img2img_pndm_str0.6_s10");
        var inpaint = Fixtures.CaseIn(Fixtures.SdTiny, "inpaint_pndm_str0.75_s10");
        var init = await UploadAsync(File.ReadAllBytes(Path.Combine(img2img, "init_image.png")));
        var sweep = await coordinator.SubmitAsync($$"""
            {"model":"{{model}}","prompts":["a surreal landscape, vivid colors"],"seeds":[4242],"steps":10,"guidanceScale":7.5,"scheduler":"pndm",
             "init":"{{init}}","strength":[0.6, 0.3]}
            """);
        var inpaintInit = await UploadAsync(File.ReadAllBytes(Path.Combine(inpaint, "init_image.png")));
        var mask = await UploadAsync(File.ReadAllBytes(Path.Combine(inpaint, "mask.png")));
        var inpaintSweep = await coordinator.SubmitAsync($$"""
            {"model":"{{model}}","prompts":["a bouquet of flowers"],"seeds":[31],"steps":10,"guidanceScale":7.5,"scheduler":"pndm",
             "init":"{{inpaintInit}}","mask":"{{mask}}","strength":0.75}
            """);
        foreach (var id in new[] { sweep.Id, inpaintSweep.Id })
        {
            var status = await FinishedAsync(id);
            Assert.True(status.State == "completed", $"{id}: {status.State} {status.Images}\n{Output()}");
        }

        var golden = PngDecoder.Decode(File.ReadAllBytes(Path.Combine(img2img, "image_0.png"))).Image;
        var atCase = PngDecoder.Decode(await GetObjectAsync(StorageKeys.Image(sweep.Id, 0))).Image;
        var weaker = PngDecoder.Decode(await GetObjectAsync(StorageKeys.Image(sweep.Id, 1))).Image;
        // The fixture's tolerance for one thread against its two: at most one level per value.
        Assert.True(MaxAbsDifference(golden, atCase) <= 1, "strength 0.6 differs from diffusers' img2img golden");
        Assert.True(MaxAbsDifference(golden, weaker) > 1, "strength 0.3 rendered the same image as 0.6");
        Assert.Equal((0.6, 0.3), ((await RecordAsync(sweep.Id, 0)).Strength, (await RecordAsync(sweep.Id, 1)).Strength));

        var inpaintGolden = PngDecoder.Decode(File.ReadAllBytes(Path.Combine(inpaint, "image_0.png"))).Image;
        var inpainted = PngDecoder.Decode(await GetObjectAsync(StorageKeys.Image(inpaintSweep.Id, 0))).Image;
        Assert.True(MaxAbsDifference(inpaintGolden, inpainted) <= 1, "the inpainted image differs from diffusers' inpaint golden");
        Assert.Equal((mask, 0.75), ((await RecordAsync(inpaintSweep.Id, 0)).MaskAsset, (await RecordAsync(inpaintSweep.Id, 0)).Strength!.Value));
    }

    private static int MaxAbsDifference(RgbImage a, RgbImage b)
    {
        Assert.Equal((a.Width, a.Height, a.Channels), (b.Width, b.Height, b.Channels));
        var max = 0;
        for (var i = 0; i < a.Pixels.Length; i++) max = Math.Max(max, Math.Abs(a.Pixels[i] - b.Pixels[i]));
        return max;
    }
}

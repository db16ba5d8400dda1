using System.Net;
using System.Net.Http.Json;
using Farm.Coordinator;
using Farm.Coordinator.Api;
using Farm.Diffusion.Imaging;
using Farm.GpuWorker.Tests.Support;
using Farm.Shared.Contracts;
using Farm.Testing;
using Xunit;

namespace Farm.GpuWorker.Tests.Gallery;

/// <summary>What the gallery reads beyond the sweep API: one image's detail with its infotext, and each worker's images per minute.</summary>
public sealed class ImageDetailFarmTests : IAsyncLifetime
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(90);

    private readonly string model = TestServices.UniqueName("tiny");
    private CoordinatorUnderTest coordinator = null!;
    private InProcessWorkers workers = null!;

    public async Task InitializeAsync()
    {
        coordinator = await CoordinatorUnderTest.StartAsync("detail", new CoordinatorOptions { DefaultBatchSize = 1, MaxWidth = 256, MaxHeight = 256 });
        workers = new InProcessWorkers(coordinator.Settings, model);
        // Seed 2 is a bad job: its image fails at once with this error.
        await workers.StartAsync("detail-w1", seed => seed == 2 ? new ArgumentException("bad seed 2") : null, o => o.Retries = 0);
        await coordinator.WaitForWorkersAsync(model, 1, Deadline);
    }

    public async Task DisposeAsync()
    {
        await workers.DisposeAsync();
        await coordinator.DisposeAsync();
    }

    [Fact]
    public async Task A_finished_image_carries_its_pngs_own_infotext_and_a_failed_one_its_error()
    {
        var before = (await coordinator.Http.GetFromJsonAsync<List<WorkerHeartbeat>>("/v1/workers", FarmJson.Options))!.Single(w => w.WorkerId == "detail-w1");
        Assert.Equal(0, before.ImagesPerMinute);
        var sweep = await coordinator.SubmitAsync($$"""{"model":"{{model}}","prompts":["a fox, at dusk"],"negativePrompt":"blurry","seeds":[1,2,3],"steps":3,"guidanceScale":6,"width":16,"height":24}""");
        await coordinator.WaitForStateAsync(sweep.Id, Deadline, "failed");

        var done = (await coordinator.Http.GetFromJsonAsync<ImageDetail>($"/v1/sweeps/{sweep.Id}/images/2", FarmJson.Options))!;
        Assert.Equal(("completed", 3L, "blurry"), (done.Image.State, done.Image.Seed, done.NegativePrompt));
        Assert.Equal("detail-w1", done.Worker);
        var png = await coordinator.Http.GetByteArrayAsync(done.Image.Url);
        var parameters = PngDecoder.ReadText(new MemoryStream(png))["parameters"];
        Assert.Equal(parameters, done.Infotext);
        Assert.StartsWith("a fox, at dusk\nNegative prompt: blurry\nSteps: 3, ", done.Infotext);
        Assert.Contains("Seed: 3, Size: 16x24", done.Infotext);

        var failed = (await coordinator.Http.GetFromJsonAsync<ImageDetail>($"/v1/sweeps/{sweep.Id}/images/1", FarmJson.Options))!;
        Assert.Equal(("failed", 2L, null), (failed.Image.State, failed.Image.Seed, failed.Infotext));
        Assert.Contains("bad seed 2", failed.Image.Error);

        Assert.Equal(HttpStatusCode.NotFound, (await coordinator.Http.GetAsync($"/v1/sweeps/{sweep.Id}/images/3")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await coordinator.Http.GetAsync("/v1/sweeps/sw-nope/images/0")).StatusCode);

        // Two images rendered just now: the announced rate is above 0 once the next heartbeat has gone out.
        await CoordinatorUnderTest.WaitUntilAsync(async () =>
            (await coordinator.Http.GetFromJsonAsync<List<WorkerHeartbeat>>("/v1/workers", FarmJson.Options))!.Single(w => w.WorkerId == "detail-w1").ImagesPerMinute > 0,
            Deadline, "a rate above 0 in the worker's heartbeat");
    }
}

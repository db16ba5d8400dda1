using System.Net;
using System.Net.Http.Json;
using System.Text;
using Farm.Coordinator;
using Farm.Coordinator.Api;
using Farm.Coordinator.Sweeps;
using Farm.GpuWorker.Tests.Support;
using Farm.Infrastructure.Progress;
using Farm.Shared.Contracts;
using Farm.Testing;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace Farm.GpuWorker.Tests.Scheduling;

/// <summary><c>POST /v1/sweeps?dryRun=true</c> on real services: it creates nothing, and estimates from what the workers measured.</summary>
public sealed class DryRunTests : IAsyncLifetime
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(90);

    private readonly string model = TestServices.UniqueName("tiny");
    private CoordinatorUnderTest coordinator = null!;
    private InProcessWorkers workers = null!;

    public async Task InitializeAsync()
    {
        coordinator = await CoordinatorUnderTest.StartAsync("dryrun", new CoordinatorOptions { DefaultBatchSize = 2, MaxWidth = 256, MaxHeight = 256 });
        workers = new InProcessWorkers(coordinator.Settings, model) { StepDelay = TimeSpan.FromMilliseconds(20) };
        await workers.StartAsync("w1");
        await workers.StartAsync("w2");
        await coordinator.WaitForWorkersAsync(model, 2, Deadline);
    }

    public async Task DisposeAsync()
    {
        await workers.DisposeAsync();
        await coordinator.DisposeAsync();
    }

    private string Spec(int seeds) => $$"""{"model":"{{model}}","prompts":["a","b"],"seeds":{"start":0,"count":{{seeds}}},"steps":5,"size":["64x64","128x64"]}""";

    private async Task<SweepEstimate> DryRunAsync(string spec)
    {
        using var response = await coordinator.Http.PostAsync("/v1/sweeps?dryRun=true", new StringContent(spec, Encoding.UTF8, "application/json"));
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        return (await response.Content.ReadFromJsonAsync<SweepEstimate>(FarmJson.Options))!;
    }

    [Fact]
    public async Task A_dry_run_creates_nothing_and_says_when_it_has_no_measurement_yet()
    {
        var estimate = await DryRunAsync(Spec(3));
        var m = Assert.Single(estimate.Models);
        Assert.Equal((12L, 8L, 12L, 8L), (estimate.Images, estimate.Jobs, m.Images, m.Jobs)); // 2 prompts × 2 sizes × 3 seeds, batches of 2
        // 6 images of 64×64 and 6 of 128×64, 5 steps each.
        Assert.Equal(Math.Round((6 * 64 * 64 + 6 * 128 * 64) / 1e6 * 5, 3), m.MegapixelSteps);
        Assert.Equal((null, null, null, 2), (estimate.RenderSeconds, estimate.EtaSeconds, m.SecondsPerMegapixelStep, m.Pipelines));
        Assert.Contains("no measurement yet", Assert.Single(estimate.Notes));
        Assert.Empty((await coordinator.Http.GetFromJsonAsync<List<SweepStatus>>("/v1/sweeps", FarmJson.Options))!);
        using var s3 = TestServices.CreateS3Client();
        Assert.Empty((await s3.ListObjectsV2Async(new Amazon.S3.Model.ListObjectsV2Request { BucketName = coordinator.Bucket })).S3Objects ?? []);

        using var bad = await coordinator.Http.PostAsync("/v1/sweeps?dryRun=true", new StringContent("""{"model":"nope","prompts":["a"],"seeds":[1]}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Contains("no worker serves model 'nope'", await bad.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task After_renders_the_estimate_is_the_measured_speed_times_the_megapixel_steps_shared_by_the_live_pipelines()
    {
        var sweep = await coordinator.SubmitAsync(Spec(2));
        await coordinator.WaitForStateAsync(sweep.Id, Deadline, "completed");
        var store = coordinator.Services.GetRequiredService<IProgressStore>();
        double? speed = null;
        await CoordinatorUnderTest.WaitUntilAsync(async () => (speed = await store.GetRenderSpeedAsync(model)) is > 0, Deadline, "a measured speed");

        var estimate = await DryRunAsync(Spec(100));
        var m = Assert.Single(estimate.Models);
        Assert.Equal(speed, m.SecondsPerMegapixelStep);
        Assert.Equal(Math.Round(speed!.Value * m.MegapixelSteps, 1), m.RenderSeconds!.Value, 0.2);
        Assert.Equal(Math.Round(m.RenderSeconds.Value / 2, 1), estimate.EtaSeconds!.Value, 0.2);
        Assert.Empty(estimate.Notes);
        Assert.True(estimate.BucketBytesAtMost >= 400L * 64 * 64 * 3);
    }
}

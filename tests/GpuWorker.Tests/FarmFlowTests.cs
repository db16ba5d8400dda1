using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Farm.Coordinator;
using Farm.Coordinator.Api;
using Farm.Diffusion.Imaging;
using Farm.Diffusion.Pipelines;
using Farm.GpuWorker.Progress;
using Farm.GpuWorker.Rendering;
using Farm.Infrastructure;
using Farm.Infrastructure.Messaging;
using Farm.Infrastructure.Storage;
using Farm.Shared.Contracts;
using Farm.Shared.Layout;
using Farm.GpuWorker.Tests.Support;
using Farm.Testing;
using MassTransit;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Xunit;

namespace Farm.GpuWorker.Tests;

/// <summary>
/// The farm's messaging, counting and storage through real RabbitMQ, Redis and s3rver: a coordinator and
/// worker hosts in this process, rendering with <see cref="TestDoubleRendererFactory"/> so these stay fast. The same
/// flows on the real engine, with worker processes, are in <see cref="EngineFarmTests"/>.
/// </summary>
public sealed class FarmFlowTests : IAsyncLifetime
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(90);

    private readonly string model = TestServices.UniqueName("tiny");
    private InProcessWorkers workers = null!;
    private CoordinatorUnderTest coordinator = null!;
    private HttpClient http = null!;
    private IReadOnlyDictionary<string, string> settings = null!;

    public async Task InitializeAsync()
    {
        coordinator = await CoordinatorUnderTest.StartAsync("flow",
            new CoordinatorOptions { DefaultBatchSize = 2, QueuedPerPipeline = 1, MaxImages = 1000, MaxWidth = 256, MaxHeight = 256 });
        settings = coordinator.Settings;
        http = coordinator.Http;
        workers = new InProcessWorkers(settings, model);
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

    private Task StartWorkerAsync(string id) => workers.StartAsync(id);

    private Task WaitForWorkersAsync(int count) => coordinator.WaitForWorkersAsync(model, count, Deadline);

    private Task<SweepAccepted> SubmitAsync(string json, string? key = null) => coordinator.SubmitAsync(json, key);

    private Task<SweepStatus> WaitForStateAsync(string id, params string[] states) => coordinator.WaitForStateAsync(id, Deadline, states);

    [Fact]
    public async Task A_two_by_three_sweep_through_two_workers_completes_with_one_image_per_index_in_the_bucket()
    {
        await StartWorkerAsync("w1");
        await StartWorkerAsync("w2");
        await WaitForWorkersAsync(2);
        var accepted = await SubmitAsync($$"""{"model":"{{model}}","prompts":["a fox","a lighthouse"],"seeds":[1,2,3],"steps":4,"width":16,"height":16}""", key: "k-" + model);
        Assert.Equal((6L, 4L), (accepted.Images, accepted.Jobs));
        var again = await SubmitAsync($$"""{"model":"{{model}}","prompts":["a fox","a lighthouse"],"seeds":[1,2,3],"steps":4,"width":16,"height":16}""", key: "k-" + model);
        Assert.Equal(accepted.Id, again.Id);

        var status = await WaitForStateAsync(accepted.Id, "completed", "failed");
        Assert.Equal("completed", status.State);
        Assert.Equal(6, status.Images.Completed);
        Assert.NotNull(status.FinishedAt);

        using var s3 = TestServices.CreateS3Client();
        var bucket = settings["FARM_S3_BUCKET"];
        var keys = (await s3.ListObjectsV2Async(new Amazon.S3.Model.ListObjectsV2Request { BucketName = bucket, Prefix = StorageKeys.ImagesPrefix(accepted.Id) })).S3Objects.Select(o => o.Key).ToList();
        Assert.Equal(Enumerable.Range(0, 6).SelectMany(i => new[] { StorageKeys.Image(accepted.Id, i), StorageKeys.ImageRecord(accepted.Id, i) }).Order(StringComparer.Ordinal), keys);

        var page = (await http.GetFromJsonAsync<ImagePage>($"/v1/sweeps/{accepted.Id}/images?state=completed", FarmJson.Options))!;
        Assert.Equal(6, page.Total);
        foreach (var item in page.Items)
        {
            var png = PngDecoder.Decode(await http.GetByteArrayAsync(item.Url));
            var metadata = GenerationMetadata.FromPngText(png.Text)!;
            Assert.Equal((item.Prompt, item.Seed), (metadata.Prompt, metadata.Seed));
        }
        Assert.Equal(["a fox", "a fox", "a fox", "a lighthouse", "a lighthouse", "a lighthouse"], page.Items.Select(i => i.Prompt));
        await WaitForContactSheetAsync(s3, bucket, accepted.Id);
    }

    private static Task WaitForContactSheetAsync(Amazon.S3.IAmazonS3 s3, string bucket, string id) =>
        CoordinatorUnderTest.WaitUntilAsync(async () =>
        {
            var list = await s3.ListObjectsV2Async(new Amazon.S3.Model.ListObjectsV2Request { BucketName = bucket, Prefix = StorageKeys.ContactSheet(id) });
            return list.S3Objects?.Count > 0;
        }, Deadline, "the contact sheet");

    [Fact]
    public async Task A_redelivered_job_whose_images_are_stored_completes_without_counting_twice()
    {
        await StartWorkerAsync("w1");
        await WaitForWorkersAsync(1);
        var json = $$"""{"model":"{{model}}","prompts":["a fox"],"seeds":[1,2],"steps":2,"width":16,"height":16}""";
        var accepted = await SubmitAsync(json);
        await WaitForStateAsync(accepted.Id, "completed");
        // The same job again, as RabbitMQ would redeliver it after a crash between upload and acknowledgement. Wait
        // for the worker to have handled it (its completion event), not for a fixed time: under load that was too short,
        // and the check then ran before the redelivery, proving nothing.
        var heard = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var store = workers.Hosts[0].Services.GetRequiredService<Farm.Infrastructure.Progress.IProgressStore>();
        await using (await store.SubscribeAsync(accepted.Id, p =>
        {
            if (p.Kind == ProgressKinds.ImageCompleted && p.ImageIndex == 1) heard.TrySetResult();
        }))
        {
            var job = new Farm.Shared.Sweeps.SweepPlan(Farm.Shared.Sweeps.SweepSpecParser.Parse(json).Spec!, 2).Job(accepted.Id, 0);
            await workers.Hosts[0].Services.GetRequiredService<IBus>().Publish(job);
            await heard.Task.WaitAsync(Deadline);
        }
        var status = await WaitForStateAsync(accepted.Id, "completed");
        Assert.Equal(2, status.Images.Completed);
        using var redis = await TestServices.ConnectRedisAsync();
        Assert.Equal(2, (long)await redis.GetDatabase().HashGetAsync(coordinator.Keys.Sweep(accepted.Id), "completed"));
    }

    [Fact]
    public async Task Cancelling_mid_sweep_stops_new_renders_and_the_state_is_cancelled()
    {
        workers.StepDelay = TimeSpan.FromMilliseconds(100);
        await StartWorkerAsync("w1");
        await WaitForWorkersAsync(1);
        var accepted = await SubmitAsync($$"""{"model":"{{model}}","prompts":["a fox"],"seeds":{"start":0,"count":40},"steps":10,"width":16,"height":16}""");
        await WaitForStateAsync(accepted.Id, "running");
        Assert.Equal(HttpStatusCode.Accepted, (await http.DeleteAsync($"/v1/sweeps/{accepted.Id}")).StatusCode);
        var status = await WaitForStateAsync(accepted.Id, "cancelled");
        // Settled: the running job has stopped (no running images), and then nothing more completes.
        await CoordinatorUnderTest.WaitUntilAsync(async () => (status = await coordinator.StatusAsync(accepted.Id)).Images.Running == 0,
            Deadline, "the running job stopping");
        await Task.Delay(1500);
        var later = await coordinator.StatusAsync(accepted.Id);
        Assert.Equal("cancelled", later.State);
        Assert.Equal(status.Images.Completed, later.Images.Completed);
        Assert.True(later.Images.Completed < 40);
    }

    [Fact]
    public async Task Bad_specs_are_rejected_with_problem_details_naming_each_field()
    {
        await StartWorkerAsync("w1");
        await WaitForWorkersAsync(1);
        var response = await http.PostAsync("/v1/sweeps", new StringContent(
            $$"""{"model":"nobody-serves-this","prompts":[""],"seeds":[1],"steps":0,"scheduler":"warp","width":100,"height":512}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        var fields = problem.GetProperty("errors").EnumerateObject().Select(p => p.Name).Order().ToArray();
        // Every error in one answer: the parser's (an empty prompt) and the validator's (limits, unknown names) alike.
        Assert.Equal(["height", "model", "prompts[0]", "scheduler", "steps", "width"], fields);

        response = await http.PostAsync("/v1/sweeps", new StringContent(
            $$"""{"model":"nobody-serves-this","prompts":["ok"],"seeds":{"start":0,"count":2000},"steps":0,"scheduler":"warp","width":100,"height":512}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        fields = problem.GetProperty("errors").EnumerateObject().Select(p => p.Name).Order().ToArray();
        Assert.True(fields.SequenceEqual(["$", "height", "model", "scheduler", "steps", "width"]), string.Join(",", fields));
    }
}

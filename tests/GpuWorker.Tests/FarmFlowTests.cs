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
using Farm.Testing;
using MassTransit;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Xunit;

namespace Farm.GpuWorker.Tests;

/// <summary>
/// The farm's messaging, counting and storage through real RabbitMQ, Redis and s3rver: a coordinator and two
/// worker hosts in this process. The renderer is a fast deterministic stand-in (this tests the worker, not the engine).
/// </summary>
public sealed class FarmFlowTests : IAsyncLifetime
{
    private readonly string model = TestServices.UniqueName("tiny");
    private readonly List<IHost> workers = [];
    private WebApplication coordinator = null!;
    private HttpClient http = null!;
    private Dictionary<string, string> settings = null!;
    private TimeSpan stepDelay = TimeSpan.Zero;

    public async Task InitializeAsync()
    {
        settings = new Dictionary<string, string>(TestServices.Settings(await TestServices.CreateBucketAsync("flow")))
        {
            ["FARM_REDIS_PREFIX"] = TestServices.UniqueRedisPrefix("flow"),
        };
        var builder = WebApplication.CreateSlimBuilder();
        builder.Configuration.AddFarmSettings(settings);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var (_, s3) = builder.Services.AddServiceStores(builder.Configuration);
        builder.Services.AddFarmCoordinator(new CoordinatorOptions { DefaultBatchSize = 2, PublishAhead = 2, MaxImages = 1000, MaxWidth = 256, MaxHeight = 256 }, s3);
        builder.Services.AddMassTransit(x => x.UsingRabbitMq((_, cfg) =>
        {
            TestServices.ConfigureRabbitMq(cfg);
            RenderTopology.Configure(cfg);
        }));
        coordinator = builder.Build();
        coordinator.MapFarmCoordinator();
        await coordinator.StartAsync();
        http = new HttpClient { BaseAddress = new Uri(coordinator.Urls.First()) };
    }

    public async Task DisposeAsync()
    {
        foreach (var worker in workers) await worker.StopAsync(TimeSpan.FromSeconds(10));
        await coordinator.StopAsync();
        http.Dispose();
    }

    private async Task StartWorkerAsync(string id)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddFarmSettings(settings);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Services.AddServiceStores(builder.Configuration);
        var options = new WorkerOptions { WorkerId = id, HeartbeatInterval = TimeSpan.FromMilliseconds(500) };
        var factory = new FakeRendererFactory(model, () => stepDelay);
        builder.Services.AddFarmWorker(options, factory);
        await WorkerHosting.DeclareDeadLetterQueuesAsync(TestServices.RabbitMqUrl.ToString(), [model], CancellationToken.None);
        builder.Services.AddMassTransit(x =>
        {
            x.AddRenderConsumer();
            x.UsingRabbitMq((ctx, cfg) =>
            {
                TestServices.ConfigureRabbitMq(cfg);
                WorkerHosting.ConfigureRenderQueues(ctx, cfg, [model], options);
            });
        });
        var host = builder.Build();
        host.Services.GetRequiredService<HeartbeatService>().Beat();
        await host.StartAsync();
        workers.Add(host);
    }

    private async Task WaitForWorkersAsync(int count)
    {
        for (var i = 0; i < 100; i++)
        {
            var listed = await http.GetFromJsonAsync<List<WorkerHeartbeat>>("/v1/workers", FarmJson.Options);
            if (listed!.Count(w => w.Models.Contains(model)) >= count) return;
            await Task.Delay(100);
        }
        throw new TimeoutException("workers did not announce themselves");
    }

    private async Task<SweepAccepted> SubmitAsync(string json, string? key = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/sweeps") { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        if (key is not null) request.Headers.Add("Idempotency-Key", key);
        using var response = await http.SendAsync(request);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<SweepAccepted>(FarmJson.Options))!;
    }

    private async Task<SweepStatus> WaitForStateAsync(string id, params string[] states)
    {
        for (var i = 0; i < 600; i++)
        {
            var status = (await http.GetFromJsonAsync<SweepStatus>($"/v1/sweeps/{id}", FarmJson.Options))!;
            Assert.True(status.Images.Completed <= status.Images.Total);
            Assert.Equal(status.Images.Total, status.Images.Completed + status.Images.Failed + status.Images.Running + status.Images.Queued);
            if (states.Contains(status.State)) return status;
            await Task.Delay(100);
        }
        throw new TimeoutException($"sweep {id} did not reach {string.Join("/", states)}");
    }

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

    private static async Task WaitForContactSheetAsync(Amazon.S3.IAmazonS3 s3, string bucket, string id)
    {
        for (var i = 0; i < 50; i++)
        {
            var list = await s3.ListObjectsV2Async(new Amazon.S3.Model.ListObjectsV2Request { BucketName = bucket, Prefix = StorageKeys.ContactSheet(id) });
            if (list.S3Objects?.Count > 0) return;
            await Task.Delay(100);
        }
        Assert.Fail("no contact sheet");
    }

    [Fact]
    public async Task A_redelivered_job_whose_images_are_stored_completes_without_counting_twice()
    {
        await StartWorkerAsync("w1");
        await WaitForWorkersAsync(1);
        var accepted = await SubmitAsync($$"""{"model":"{{model}}","prompts":["a fox"],"seeds":[1,2],"steps":2,"width":16,"height":16}""");
        await WaitForStateAsync(accepted.Id, "completed");
        // The same job again, as RabbitMQ would redeliver it after a crash between upload and acknowledgement.
        var job = new Farm.Shared.Sweeps.SweepPlan(Farm.Shared.Sweeps.SweepSpecParser.Parse(
            $$"""{"model":"{{model}}","prompts":["a fox"],"seeds":[1,2],"steps":2,"width":16,"height":16}""").Spec!, 2).Job(accepted.Id, 0);
        await workers[0].Services.GetRequiredService<IBus>().Publish(job);
        await Task.Delay(1500);
        var status = await WaitForStateAsync(accepted.Id, "completed");
        Assert.Equal(2, status.Images.Completed);
    }

    [Fact]
    public async Task Cancelling_mid_sweep_stops_new_renders_and_the_state_is_cancelled()
    {
        stepDelay = TimeSpan.FromMilliseconds(100);
        await StartWorkerAsync("w1");
        await WaitForWorkersAsync(1);
        var accepted = await SubmitAsync($$"""{"model":"{{model}}","prompts":["a fox"],"seeds":{"start":0,"count":40},"steps":10,"width":16,"height":16}""");
        await WaitForStateAsync(accepted.Id, "running");
        Assert.Equal(HttpStatusCode.Accepted, (await http.DeleteAsync($"/v1/sweeps/{accepted.Id}")).StatusCode);
        await Task.Delay(2000);
        var status = await WaitForStateAsync(accepted.Id, "cancelled");
        await Task.Delay(1500);
        var later = (await http.GetFromJsonAsync<SweepStatus>($"/v1/sweeps/{accepted.Id}", FarmJson.Options))!;
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
        Assert.Equal(["prompts[0]"], fields); // shape errors first; limits are checked once the spec parses

        response = await http.PostAsync("/v1/sweeps", new StringContent(
            $$"""{"model":"nobody-serves-this","prompts":["ok"],"seeds":{"start":0,"count":2000},"steps":0,"scheduler":"warp","width":100,"height":512}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        fields = problem.GetProperty("errors").EnumerateObject().Select(p => p.Name).Order().ToArray();
        Assert.True(fields.SequenceEqual(["$", "height", "model", "scheduler", "steps", "width"]), string.Join(",", fields));
    }
}

/// <summary>Deterministic stand-in renderer: the seed decides every pixel; steps can be slowed down to test cancellation.</summary>
internal sealed class FakeRendererFactory(string model, Func<TimeSpan> stepDelay) : IRendererFactory
{
    public IReadOnlyList<string> Models => [model];

    public IImageRenderer Load(string name) => new FakeRenderer(name, stepDelay);

    private sealed class FakeRenderer(string name, Func<TimeSpan> stepDelay) : IImageRenderer
    {
        public string ModelName => name;

        public IReadOnlyList<RenderedImage> Render(RenderJob job, Func<int, int, bool> onStep, CancellationToken cancellation)
        {
            for (var step = 1; step <= job.Steps; step++)
            {
                if (stepDelay() > TimeSpan.Zero) Thread.Sleep(stepDelay());
                cancellation.ThrowIfCancellationRequested();
                if (!onStep(step, job.Steps)) throw new OperationCanceledException();
            }
            return job.Seeds.Select(seed =>
            {
                var pixels = new byte[job.Width * job.Height * 3];
                new Random((int)seed).NextBytes(pixels);
                return new RenderedImage(seed, new RgbImage(job.Width, job.Height, 3, pixels), new GenerationMetadata
                {
                    Prompt = job.Prompt, Steps = job.Steps, Sampler = job.Scheduler, CfgScale = job.GuidanceScale, Seed = seed,
                    Width = job.Width, Height = job.Height, ModelName = name, ModelHash = "fake", EngineVersion = "fake",
                });
            }).ToList();
        }

        public void Dispose()
        {
        }
    }
}

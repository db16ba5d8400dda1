using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using Amazon.S3.Model;
using Farm.Coordinator;
using Farm.Coordinator.Api;
using Farm.Coordinator.Tenancy;
using Farm.GpuWorker.Health;
using Farm.GpuWorker.Tests.Support;
using Farm.GpuWorker.Tests.Telemetry;
using Farm.Shared.Contracts;
using Farm.Shared.Layout;
using Farm.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Xunit;

namespace Farm.GpuWorker.Tests;

/// <summary>
/// The render cache through real RabbitMQ, Redis and s3rver: one in-process worker whose renderer identifies its inputs,
/// its renders counted from its own <c>/metrics</c> (the render-time histogram has one sample per rendered image).
/// </summary>
public sealed class RenderCacheFarmTests : IAsyncLifetime
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(90);

    private readonly string model = TestServices.UniqueName("cache");
    private CoordinatorUnderTest coordinator = null!;
    private IHost worker = null!;
    private HttpClient workerHttp = null!;

    public async Task InitializeAsync()
    {
        coordinator = await CoordinatorUnderTest.StartAsync("cache",
            new CoordinatorOptions { DefaultBatchSize = 2, QueuedPerPipeline = 1, MaxImages = 1000, MaxWidth = 256, MaxHeight = 256 });
        var options = new WorkerOptions { WorkerId = TestServices.UniqueName("cache-worker"), HeartbeatInterval = TimeSpan.FromMilliseconds(500), HealthUrls = "http://127.0.0.1:0" };
        worker = await InProcessWorker.StartAsync(coordinator.Settings, options, new TestDoubleRendererFactory(model, () => TimeSpan.Zero, cacheable: true));
        workerHttp = new HttpClient { BaseAddress = new Uri(worker.Services.GetRequiredService<WorkerHealthServer>().Urls.First()), Timeout = TimeSpan.FromSeconds(10) };
        await coordinator.WaitForWorkersAsync(model, 1, Deadline);
    }

    public async Task DisposeAsync()
    {
        workerHttp.Dispose();
        await worker.StopAsync(TimeSpan.FromSeconds(10));
        worker.Dispose();
        await coordinator.DisposeAsync();
    }

    private string Spec(string seeds = "[1,2,3]", double guidance = 7.5, string extra = "") =>
        $$"""{"model":"{{model}}","prompts":["a fox","a lighthouse"],"seeds":{{seeds}},"guidanceScale":{{guidance}},"steps":3,"width":16,"height":16{{extra}}}""";

    /// <summary>Images the worker rendered (not copied) so far, once its completed counter has caught up with <paramref name="completed"/>.</summary>
    private async Task<double> RendersAsync(long completed)
    {
        PrometheusScrape scrape = null!;
        (string, string) m = ("model", model);
        await CoordinatorUnderTest.WaitUntilAsync(async () => (scrape = await PrometheusScrape.GetAsync(workerHttp)).Value("farm_images_completed_total", m) == completed,
            Deadline, () => $"the worker's farm_images_completed_total reaching {completed}:\n{scrape?.Text}");
        return scrape.Value("farm_image_render_duration_seconds_count", m, ("size", "16x16")) ?? 0;
    }

    /// <summary>Submits the spec (as the tenant of <paramref name="caller"/>, or without a key) and waits for it to end.</summary>
    private async Task<SweepStatus> RunAsync(string spec, HttpClient? caller = null)
    {
        var http = caller ?? coordinator.Http;
        var accepted = await SubmitAsAsync(http, spec);
        SweepStatus? status = null;
        await CoordinatorUnderTest.WaitUntilAsync(async () =>
        {
            status = await http.GetFromJsonAsync<SweepStatus>($"/v1/sweeps/{accepted.Id}", FarmJson.Options);
            return status!.State is "completed" or "failed";
        }, Deadline, () => $"sweep {accepted.Id} ending (last: {status?.State} {status?.Images})");
        Assert.Equal("completed", status!.State);
        return status;
    }

    private async Task<byte[]> ObjectAsync(string key)
    {
        using var s3 = TestServices.CreateS3Client();
        using var response = await s3.GetObjectAsync(coordinator.Bucket, key);
        using var bytes = new MemoryStream();
        await response.ResponseStream.CopyToAsync(bytes);
        return bytes.ToArray();
    }

    [Fact]
    public async Task The_same_sweep_twice_completes_the_second_with_zero_renders_and_byte_identical_images_recorded_for_the_new_sweep()
    {
        var first = await RunAsync(Spec());
        Assert.Equal((6L, 0L), (first.Images.Completed, first.Images.Cached));
        Assert.Equal(6, await RendersAsync(6));

        var second = await RunAsync(Spec());
        Assert.Equal((6L, 6L, 0L), (second.Images.Completed, second.Images.Cached, second.Images.Failed));
        Assert.Equal(6, await RendersAsync(12));
        var scrape = await PrometheusScrape.GetAsync(workerHttp);
        Assert.Equal(6, scrape.Value("farm_images_cached_total", ("model", model)));

        for (var i = 0; i < 6; i++)
        {
            var original = await ObjectAsync(StorageKeys.Image(first.Id, i));
            Assert.True(original.Length > 100, $"image {i} of the first sweep is {original.Length} bytes");
            Assert.Equal(original, await ObjectAsync(StorageKeys.Image(second.Id, i)));
            var record = FarmJson.Deserialize<ImageRecord>(Encoding.UTF8.GetString(await ObjectAsync(StorageKeys.ImageRecord(second.Id, i))));
            Assert.Equal((second.Id, (long)i, StorageKeys.Image(second.Id, i), StorageKeys.Image(first.Id, i)), (record.SweepId, record.Index, record.Key, record.CachedFrom));
            var originalRecord = FarmJson.Deserialize<ImageRecord>(Encoding.UTF8.GetString(await ObjectAsync(StorageKeys.ImageRecord(first.Id, i))));
            Assert.Null(originalRecord.CachedFrom);
            Assert.Equal(originalRecord.Identity, record.Identity);
            Assert.Equal((originalRecord.Prompt, originalRecord.Seed), (record.Prompt, record.Seed));
        }
    }

    [Fact]
    public async Task Cache_false_a_new_seed_or_a_new_guidance_scale_renders_again()
    {
        await RunAsync(Spec());
        Assert.Equal(6, await RendersAsync(6));

        var optedOut = await RunAsync(Spec(extra: ""","cache":false"""));
        Assert.Equal((6L, 0L), (optedOut.Images.Completed, optedOut.Images.Cached));
        Assert.Equal(12, await RendersAsync(12));

        var newSeeds = await RunAsync(Spec(seeds: "[7,8]"));
        Assert.Equal((4L, 0L), (newSeeds.Images.Completed, newSeeds.Images.Cached));
        Assert.Equal(16, await RendersAsync(16));

        var newGuidance = await RunAsync(Spec(guidance: 5));
        Assert.Equal((6L, 0L), (newGuidance.Images.Completed, newGuidance.Images.Cached));
        Assert.Equal(22, await RendersAsync(22));

        // The cache was there all along: the first spec again renders nothing.
        var again = await RunAsync(Spec());
        Assert.Equal(6, again.Images.Cached);
        Assert.Equal(22, await RendersAsync(28));
    }

    [Fact]
    public async Task Another_tenants_cache_is_not_used()
    {
        var keys = coordinator.Services.GetRequiredService<IApiKeyStore>();
        using var alice = TenantClient((await keys.CreateAsync("alice", false, DateTimeOffset.UtcNow)).Secret);
        using var bob = TenantClient((await keys.CreateAsync("bob", false, DateTimeOffset.UtcNow)).Secret);

        Assert.Equal(0, (await RunAsync(Spec(), alice)).Images.Cached);
        Assert.Equal(6, await RendersAsync(6));
        Assert.Equal(0, (await RunAsync(Spec(), bob)).Images.Cached);
        Assert.Equal(12, await RendersAsync(12));
        Assert.Equal(6, (await RunAsync(Spec(), bob)).Images.Cached);
        Assert.Equal(6, (await RunAsync(Spec(), alice)).Images.Cached);
        Assert.Equal(12, await RendersAsync(24));

        using var s3 = TestServices.CreateS3Client();
        var entries = await s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = coordinator.Bucket, Prefix = "cache/" });
        Assert.Equal([6, 6], entries.S3Objects.GroupBy(o => o.Key.Split('/')[1]).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => g.Count()));
    }

    private HttpClient TenantClient(string key)
    {
        var http = new HttpClient { BaseAddress = coordinator.Http.BaseAddress };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return http;
    }

    private async Task<SweepAccepted> SubmitAsAsync(HttpClient http, string spec)
    {
        using var response = await http.PostAsync("/v1/sweeps", new StringContent(spec, Encoding.UTF8, "application/json"));
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, $"{response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        return (await response.Content.ReadFromJsonAsync<SweepAccepted>(FarmJson.Options))!;
    }
}

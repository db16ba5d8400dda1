using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Farm.Coordinator;
using Farm.Coordinator.Webhooks;
using Farm.GpuWorker.Tests.Support;
using Farm.Shared.Contracts;
using Farm.Shared.Layout;
using Farm.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Xunit;
using Xunit.Abstractions;

namespace Farm.GpuWorker.Tests;

/// <summary>
/// Webhooks end to end: a coordinator and an in-process worker over real RabbitMQ, Redis and s3rver, posting to a
/// receiver on a loopback port of this process that checks each signature with the secret from the public route.
/// </summary>
public sealed class WebhookFarmTests(ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(90);

    private readonly string model = TestServices.UniqueName("tiny");
    private readonly Receiver receiver = new();
    private InProcessWorkers workers = null!;
    private CoordinatorUnderTest coordinator = null!;

    public async Task InitializeAsync()
    {
        await receiver.StartAsync();
        coordinator = await StartCoordinatorAsync();
        workers = new InProcessWorkers(coordinator.Settings, model);
        await workers.StartAsync("w1");
        await coordinator.WaitForWorkersAsync(model, 1, Deadline);
    }

    public async Task DisposeAsync()
    {
        try
        {
            await workers.DisposeAsync();
            await coordinator.DisposeAsync();
        }
        finally
        {
            await receiver.DisposeAsync();
        }
    }

    [Fact]
    public async Task Each_completed_image_and_the_end_are_posted_signed_and_a_receiver_that_fails_twice_gets_the_same_deliveries_again()
    {
        receiver.FailFirst("flaky", 2);
        var accepted = await coordinator.SubmitAsync(Spec("flaky", """["image", "sweep"]"""));
        Assert.Equal("completed", (await coordinator.WaitForStateAsync(accepted.Id, Deadline, "completed", "failed")).State);
        await CoordinatorUnderTest.WaitUntilAsync(() => Task.FromResult(receiver.Accepted("flaky").Select(r => r.Delivery).Distinct().Count() == 5),
            Deadline, () => $"5 deliveries accepted (got {receiver.Accepted("flaky").Count} of {receiver.All("flaky").Count} requests)");

        var secret = (await coordinator.Http.GetFromJsonAsync<WebhookSecret>("/v1/webhook-secret", FarmJson.Options))!.Secret;
        var all = receiver.All("flaky");
        foreach (var request in all)
            Assert.Equal("sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), request.Body)), request.Signature);

        // The two refused were sent again, under the same delivery id, and accepted then.
        var refused = all.Where(r => r.Status == 500).ToList();
        Assert.Equal(2, refused.Count);
        var acceptedIds = receiver.Accepted("flaky").Select(r => r.Delivery).ToHashSet();
        Assert.All(refused, r => Assert.Contains(r.Delivery, acceptedIds));

        var bodies = receiver.Accepted("flaky").DistinctBy(r => r.Delivery).Select(r => (r.Event, Json: JsonNode.Parse(r.Body)!)).ToList();
        Assert.All(bodies, b => Assert.Equal(b.Event, (string)b.Json["event"]!));
        var images = bodies.Where(b => b.Event == "image").Select(b => b.Json).OrderBy(j => (long)j["index"]!).ToList();
        Assert.Equal([0L, 1, 2, 3], images.Select(j => (long)j["index"]!));
        for (var i = 0; i < 4; i++)
        {
            Assert.Equal(accepted.Id, (string)images[i]["sweepId"]!);
            Assert.Equal(StorageKeys.Image(accepted.Id, i), (string)images[i]["key"]!);
            // Seeds are the innermost axis: image i has the i-th seed.
            Assert.Equal(101L + i, (long)images[i]["parameters"]!["seed"]!);
            var png = await coordinator.Http.GetByteArrayAsync((string)images[i]["url"]!);
            Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], png.Take(4));
        }
        var end = Assert.Single(bodies, b => b.Event == "sweep").Json;
        Assert.Equal("completed", (string)end["state"]!);
        Assert.Equal(4L, (long)end["images"]!["completed"]!);

        await CoordinatorUnderTest.WaitUntilAsync(async () => (await coordinator.StatusAsync(accepted.Id)).Webhook is { Delivered: 5, Failed: 0, Retrying: 0 },
            Deadline, "the status counting 5 delivered webhooks");
        Assert.Contains("HTTP 500", (await coordinator.StatusAsync(accepted.Id)).Webhook!.LastError);
    }

    [Fact]
    public async Task A_webhook_for_sweep_events_only_gets_the_end_and_no_image()
    {
        var accepted = await coordinator.SubmitAsync(Spec("ends", """["sweep"]"""));
        await coordinator.WaitForStateAsync(accepted.Id, Deadline, "completed", "failed");
        var clock = System.Diagnostics.Stopwatch.StartNew();
        await CoordinatorUnderTest.WaitUntilAsync(() => Task.FromResult(receiver.All("ends").Count > 0), Deadline, "the sweep event posted");
        output.WriteLine($"sweep event posted {clock.ElapsedMilliseconds} ms after the status first read completed");
        await CoordinatorUnderTest.WaitUntilAsync(async () => (await coordinator.StatusAsync(accepted.Id)).Webhook is { Delivered: 1 },
            Deadline, "the sweep event delivered");
        // Image events would have been queued before the end event, in the same poll: give them time to show up anyway.
        await Task.Delay(TimeSpan.FromSeconds(1));
        var request = Assert.Single(receiver.All("ends"));
        Assert.Equal("sweep", request.Event);
        Assert.Equal(accepted.Id, (string)JsonNode.Parse(request.Body)!["sweepId"]!);
    }

    [Theory]
    [InlineData("""{"url": "/hooks/relative"}""", "webhook.url")]
    [InlineData("""{"url": "ftp://example.com/hook"}""", "webhook.url")]
    [InlineData("""{"url": "https://example.com/hook", "events": ["image", "pixel"]}""", "webhook.events[1]")]
    [InlineData("""{"url": "https://example.com/hook", "secret": "x"}""", "webhook.secret")]
    [InlineData(""" "https://example.com/hook" """, "webhook")]
    public async Task A_bad_webhook_is_a_400_naming_the_field(string webhook, string field)
    {
        using var response = await coordinator.Http.PostAsync("/v1/sweeps", new StringContent(
            $$"""{"model":"{{model}}","prompts":["a"],"seeds":[1],"webhook":{{webhook}} }""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var errors = JsonNode.Parse(await response.Content.ReadAsStringAsync())!["errors"]!.AsObject();
        Assert.Equal([field], errors.Select(e => e.Key));
    }

    [Fact]
    public async Task A_coordinator_left_at_its_defaults_refuses_a_webhook_to_a_loopback_address()
    {
        await using var strict = await CoordinatorUnderTest.StartAsync("webhooks-strict", new CoordinatorOptions());
        using var response = await strict.Http.PostAsync("/v1/sweeps", new StringContent(
            $$"""{"model":"{{model}}","prompts":["a"],"seeds":[1],"webhook":{"url":"{{receiver.Url("x")}}"} }""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var errors = JsonNode.Parse(await response.Content.ReadAsStringAsync())!["errors"]!.AsObject();
        Assert.Contains("private", (string)errors["webhook.url"]![0]!);
    }

    [Fact]
    public async Task Deliveries_still_queued_when_the_coordinator_stops_are_sent_by_the_next_one()
    {
        receiver.FailFirst("restart", int.MaxValue);
        var accepted = await coordinator.SubmitAsync(Spec("restart", """["sweep"]"""));
        await coordinator.WaitForStateAsync(accepted.Id, Deadline, "completed", "failed");
        await CoordinatorUnderTest.WaitUntilAsync(() => Task.FromResult(receiver.All("restart").Count > 0), Deadline, "the first, refused, attempt");
        var settings = coordinator.Settings;
        await coordinator.DisposeAsync();

        receiver.FailFirst("restart", 0);
        coordinator = await StartCoordinatorAsync(settings);
        await CoordinatorUnderTest.WaitUntilAsync(() => Task.FromResult(receiver.Accepted("restart").Count > 0), Deadline, "the delivery accepted after the restart");
        Assert.Equal(receiver.All("restart")[0].Delivery, receiver.Accepted("restart")[0].Delivery);
    }

    [Fact]
    public async Task A_delivery_refused_for_longer_than_the_retry_duration_is_given_up_and_the_status_says_so()
    {
        // The same farm, with a coordinator that retries for one second only.
        var settings = coordinator.Settings;
        await coordinator.DisposeAsync();
        coordinator = await StartCoordinatorAsync(settings, o => o.MaxRetryDuration = TimeSpan.FromSeconds(1));
        receiver.FailFirst("down", int.MaxValue);

        var accepted = await coordinator.SubmitAsync(Spec("down", """["sweep"]"""));
        await coordinator.WaitForStateAsync(accepted.Id, Deadline, "completed", "failed");
        await CoordinatorUnderTest.WaitUntilAsync(async () => (await coordinator.StatusAsync(accepted.Id)).Webhook is { Failed: 1 },
            Deadline, "the delivery given up");
        var webhook = (await coordinator.StatusAsync(accepted.Id)).Webhook!;
        Assert.Equal((0L, 0L), (webhook.Delivered, webhook.Retrying));
        Assert.Contains("HTTP 500", webhook.LastError);
        var attempts = receiver.All("down").Count;
        Assert.True(attempts >= 2, $"{attempts} attempts: it was not retried before giving up");
        await Task.Delay(TimeSpan.FromSeconds(1.5));
        Assert.Equal(attempts, receiver.All("down").Count);
    }

    private static Task<CoordinatorUnderTest> StartCoordinatorAsync(IReadOnlyDictionary<string, string>? settings = null, Action<WebhookOptions>? configure = null) =>
        CoordinatorUnderTest.StartAsync("webhooks", new CoordinatorOptions { DefaultBatchSize = 2, MaxImages = 1000 }, settings,
            services => services.Configure<WebhookOptions>(o =>
            {
                o.AllowPrivateTargets = true;
                o.InitialBackoff = TimeSpan.FromMilliseconds(200);
                o.MaxBackoff = TimeSpan.FromSeconds(1);
                o.PollInterval = TimeSpan.FromMilliseconds(100);
                configure?.Invoke(o);
            }));

    private string Spec(string hook, string events) => $$"""
        {"model":"{{model}}","prompts":["a fox"],"seeds":[101,102,103,104],"steps":2,"width":64,"height":64,
         "webhook":{"url":"{{receiver.Url(hook)}}","events":{{events}}} }
        """;

    /// <summary>A webhook receiver on a loopback port: records every request, answering 500 to the first few of a hook if told to.</summary>
    private sealed class Receiver : IAsyncDisposable
    {
        public sealed record Request(string Hook, string? Event, string? Delivery, string? Signature, byte[] Body, int Status);

        private readonly ConcurrentQueue<Request> requests = new();
        private readonly ConcurrentDictionary<string, int> failuresLeft = new();
        private WebApplication app = null!;

        public async Task StartAsync()
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.SetMinimumLevel(LogLevel.Warning);
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            app = builder.Build();
            app.MapPost("/hooks/{hook}", async (string hook, HttpRequest request) =>
            {
                using var body = new MemoryStream();
                await request.Body.CopyToAsync(body);
                var fail = failuresLeft.AddOrUpdate(hook, -1, (_, left) => left - 1) >= 0;
                var status = fail ? 500 : 200;
                requests.Enqueue(new Request(hook, request.Headers["X-Farm-Event"], request.Headers["X-Farm-Delivery"], request.Headers["X-Farm-Signature"],
                    body.ToArray(), status));
                return Microsoft.AspNetCore.Http.Results.StatusCode(status);
            });
            await app.StartAsync();
        }

        public string Url(string hook) => $"{app.Urls.First().TrimEnd('/')}/hooks/{hook}";

        // Each request takes one from the count before deciding: counts n - 1 … 0 are the n refusals.
        public void FailFirst(string hook, int count) => failuresLeft[hook] = count;

        public IReadOnlyList<Request> All(string hook) => requests.Where(r => r.Hook == hook).ToList();

        public IReadOnlyList<Request> Accepted(string hook) => All(hook).Where(r => r.Status == 200).ToList();

        public async ValueTask DisposeAsync()
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }
}

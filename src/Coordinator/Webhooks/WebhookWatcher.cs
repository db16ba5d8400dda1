using System.Collections.Concurrent;
using System.Globalization;
using Farm.Coordinator.Api;
using Farm.Coordinator.Sweeps;
using Farm.Infrastructure;
using Farm.Infrastructure.Progress;
using Farm.Infrastructure.Storage;
using Farm.Shared.Contracts;
using Farm.Shared.Layout;
using Farm.Shared.Sweeps;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Farm.Coordinator.Webhooks;

/// <summary>
/// Turns what workers counted into queued webhook events, in the coordinator so no worker ever waits on a receiver:
/// every poll, for each sweep with a webhook, the images whose bit is set in the live view's <c>done</c> bitmap and
/// not in <c>webhook-sent</c> (and that did not fail) are queued as <c>image</c> events, then an ended sweep as its
/// <c>sweep</c> event. Both bitmaps live in Redis, so a restarted coordinator picks up where it stopped.
/// </summary>
internal sealed class WebhookWatcher(IConnectionMultiplexer redis, RedisOptions redisOptions, IProgressStore store, SweepService sweeps, WebhookQueue queue,
    IObjectStore bucket, S3Options s3, CoordinatorOptions coordinatorOptions, IOptions<WebhookOptions> options, ILogger<WebhookWatcher> logger) : BackgroundService
{
    /// <summary>Image events queued per sweep per poll, so one huge sweep does not hold up the others.</summary>
    internal const int ImagesPerPoll = 2000;

    private readonly ProgressKeys progressKeys = new(redisOptions.Prefix);
    // What each sweep looked like when it was last fully scanned: unchanged counts need no bitmap read.
    private readonly ConcurrentDictionary<string, (long Counted, string State)> scanned = new(StringComparer.Ordinal);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.PollInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    foreach (var id in await queue.TrackedAsync()) await WatchAsync(id, stoppingToken);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    logger.LogDebug("webhook watch skipped: {Error}", e.Message);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task WatchAsync(string id, CancellationToken cancellation)
    {
        if (await store.GetSweepAsync(id) is not { } sweep)
        {
            await queue.ForgetAsync(id);
            scanned.TryRemove(id, out _);
            return;
        }
        var counted = (sweep.Completed + sweep.Failed, sweep.State);
        if (scanned.TryGetValue(id, out var last) && last == counted) return;
        if (await sweeps.GetPlanAsync(id, cancellation) is not { Spec.Webhook: { } hook } plan) return;

        var complete = !hook.Wants(WebhookEvents.Image) || await QueueImagesAsync(sweep, plan, hook);
        if (!complete) return;
        var ended = sweep.State is "completed" or "failed" or "cancelled";
        if (ended && hook.Wants(WebhookEvents.Sweep)) await QueueSweepEndAsync(sweep, hook);
        if (ended)
        {
            // Nothing more will happen to it unless it is retried, which tracks it again.
            await queue.UntrackAsync(id, coordinatorOptions.FinishedTtl);
            scanned.TryRemove(id, out _);
        }
        else scanned[id] = counted;
    }

    /// <summary>Queues up to <see cref="ImagesPerPoll"/> newly completed images; true when none are left.</summary>
    private async Task<bool> QueueImagesAsync(SweepSnapshot sweep, SweepPlan plan, WebhookSpec hook)
    {
        var db = redis.GetDatabase();
        var done = (byte[]?)await db.StringGetAsync(progressKeys.Done(sweep.Id)) ?? [];
        var sent = await queue.SentImagesAsync(sweep.Id);
        // The done bitmap counts failed images too; they send nothing (and stay unsent, so a retried image that completes does).
        var failed = (await db.HashKeysAsync(progressKeys.Failed(sweep.Id))).Select(v => (long)v).ToHashSet();
        var candidates = new List<long>();
        for (var i = 0; i < done.Length && candidates.Count < ImagesPerPoll; i++)
        {
            var fresh = done[i] & ~(i < sent.Length ? sent[i] : 0);
            // Redis numbers bits from the most significant one of each byte.
            for (var bit = 0; fresh != 0 && bit < 8; bit++)
                if ((fresh & (0x80 >> bit)) != 0 && i * 8L + bit is var index && index < plan.ImageCount && !failed.Contains(index)) candidates.Add(index);
        }
        if (candidates.Count == 0) return true;

        var now = DateTimeOffset.UtcNow;
        var images = new List<(long, WebhookDelivery)>();
        foreach (var index in candidates)
        {
            var image = plan.Image(index);
            var deliveryId = WebhookKeys.ImageDeliveryId(sweep.Id, image.Index);
            var key = StorageKeys.Image(sweep.Id, image.Index);
            var body = new ImageEventBody(WebhookEvents.Image, deliveryId, sweep.Id, image.Index, image.Id(), key, bucket.GetUrl(key, s3.UrlExpiry), image, now);
            images.Add((image.Index, new WebhookDelivery(deliveryId, sweep.Id, sweep.Tenant, hook.Url, WebhookEvents.Image, FarmJson.Serialize(body), 0, now)));
        }
        await queue.QueueImagesAsync(sweep.Id, images);
        return candidates.Count < ImagesPerPoll;
    }

    private async Task QueueSweepEndAsync(SweepSnapshot sweep, WebhookSpec hook)
    {
        // A sweep retried after it failed ends again with a new finish time, and that end is an event of its own.
        var finishedMs = sweep.FinishedAt?.ToUnixTimeMilliseconds() ?? 0;
        var stamp = finishedMs.ToString(CultureInfo.InvariantCulture);
        if (await queue.EndedStampAsync(sweep.Id) == stamp) return;
        var status = SweepEndpoints.Status(sweep, bucket, s3);
        var now = DateTimeOffset.UtcNow;
        var deliveryId = WebhookKeys.SweepDeliveryId(sweep.Id, finishedMs);
        var body = new SweepEventBody(WebhookEvents.Sweep, deliveryId, sweep.Id, status.State, status.Images, sweep.FinishedAt, sweep.FailedReason, now);
        await queue.QueueSweepEndAsync(sweep.Id, stamp, new WebhookDelivery(deliveryId, sweep.Id, sweep.Tenant, hook.Url, WebhookEvents.Sweep, FarmJson.Serialize(body), 0, now));
        logger.LogInformation("sweep {Sweep} ended {State}: its webhook event {Delivery} is queued", sweep.Id, status.State, deliveryId);
    }
}

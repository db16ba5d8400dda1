using System.Globalization;
using StackExchange.Redis;

namespace Farm.Coordinator.Webhooks;

/// <summary>
/// The durable queue of deliveries in Redis (layout: <see cref="WebhookKeys"/>): what is queued survives a coordinator
/// restart, and a delivery in flight when one stops is leased, so it comes due again once the lease runs out.
/// </summary>
internal sealed class WebhookQueue(IConnectionMultiplexer redis, WebhookKeys keys)
{
    // KEYS: pending. ARGV: now ms, lease-until ms, limit. Takes the due deliveries and pushes them past the lease in one step,
    // so two coordinators never send the same delivery at once.
    private const string ClaimScript = """
        local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
        for _, id in ipairs(due) do redis.call('ZADD', KEYS[1], ARGV[2], id) end
        return due
        """;

    private static readonly TimeSpan OutcomesTtl = TimeSpan.FromDays(30);

    private IDatabase Db => redis.GetDatabase();

    public Task TrackAsync(string sweepId) => Db.SetAddAsync(keys.Sweeps, sweepId);

    public async Task<IReadOnlyList<string>> TrackedAsync() => (await Db.SetMembersAsync(keys.Sweeps)).Select(v => (string)v!).ToList();

    /// <summary>The sweep's live view is gone: stop watching it and drop its bookkeeping (queued deliveries still go out).</summary>
    public Task ForgetAsync(string sweepId)
    {
        var batch = Db.CreateTransaction();
        _ = batch.SetRemoveAsync(keys.Sweeps, sweepId);
        _ = batch.KeyDeleteAsync([keys.Sent(sweepId), keys.Ended(sweepId), keys.Outcomes(sweepId)]);
        return batch.ExecuteAsync();
    }

    /// <summary>
    /// The sweep ended and all its events are queued: stop watching it (a retry tracks it again). Its marks and
    /// outcomes expire as its live view does (<paramref name="ttl"/>; kept when null).
    /// </summary>
    public Task UntrackAsync(string sweepId, TimeSpan? ttl)
    {
        var batch = Db.CreateTransaction();
        _ = batch.SetRemoveAsync(keys.Sweeps, sweepId);
        if (ttl is { } keep)
            foreach (var key in new[] { keys.Sent(sweepId), keys.Ended(sweepId), keys.Outcomes(sweepId) }) _ = batch.KeyExpireAsync(key, keep);
        return batch.ExecuteAsync();
    }

    public async Task<byte[]> SentImagesAsync(string sweepId) => (byte[]?)await Db.StringGetAsync(keys.Sent(sweepId)) ?? [];

    public async Task<string?> EndedStampAsync(string sweepId) => await Db.StringGetAsync(keys.Ended(sweepId));

    /// <summary>Queues image events and marks their images sent, in one transaction: an image is queued exactly once.</summary>
    public Task QueueImagesAsync(string sweepId, IReadOnlyList<(long Index, WebhookDelivery Delivery)> images)
    {
        var batch = Db.CreateTransaction();
        foreach (var (index, delivery) in images)
        {
            Add(batch, delivery);
            _ = batch.StringSetBitAsync(keys.Sent(sweepId), index, true);
        }
        return batch.ExecuteAsync();
    }

    /// <summary>Queues the sweep's end event and records which finish it was for, in one transaction.</summary>
    public Task QueueSweepEndAsync(string sweepId, string stamp, WebhookDelivery delivery)
    {
        var batch = Db.CreateTransaction();
        Add(batch, delivery);
        _ = batch.StringSetAsync(keys.Ended(sweepId), stamp);
        return batch.ExecuteAsync();
    }

    public async Task<IReadOnlyList<WebhookDelivery>> ClaimDueAsync(DateTimeOffset now, DateTimeOffset leaseUntil, int limit)
    {
        var ids = (RedisValue[])(await Db.ScriptEvaluateAsync(ClaimScript, [keys.Pending],
            [now.ToUnixTimeMilliseconds(), leaseUntil.ToUnixTimeMilliseconds(), limit]))!;
        var result = new List<WebhookDelivery>(ids.Length);
        foreach (var id in ids.Select(v => (string)v!))
        {
            var fields = (await Db.HashGetAllAsync(keys.Delivery(id))).ToDictionary(e => (string)e.Name!, e => (string)e.Value!);
            if (fields.Count == 0)
            {
                await Db.SortedSetRemoveAsync(keys.Pending, id);
                continue;
            }
            result.Add(new WebhookDelivery(id, fields["sweep"], fields["tenant"], fields["url"], fields["event"], fields["body"],
                int.Parse(fields["attempts"], CultureInfo.InvariantCulture),
                DateTimeOffset.FromUnixTimeMilliseconds(long.Parse(fields["firstDueAt"], CultureInfo.InvariantCulture))));
        }
        return result;
    }

    public Task DeliveredAsync(WebhookDelivery delivery)
    {
        var batch = Db.CreateTransaction();
        Finish(batch, delivery);
        _ = batch.HashIncrementAsync(keys.Outcomes(delivery.SweepId), "delivered");
        return batch.ExecuteAsync();
    }

    public Task RetryAsync(WebhookDelivery delivery, DateTimeOffset due)
    {
        var batch = Db.CreateTransaction();
        _ = batch.HashIncrementAsync(keys.Delivery(delivery.Id), "attempts");
        _ = batch.SortedSetAddAsync(keys.Pending, delivery.Id, due.ToUnixTimeMilliseconds());
        if (delivery.Attempts == 0) _ = batch.HashIncrementAsync(keys.Outcomes(delivery.SweepId), "retrying");
        return batch.ExecuteAsync();
    }

    public Task RecordErrorAsync(WebhookDelivery delivery, string error, DateTimeOffset at) =>
        Db.HashSetAsync(keys.Outcomes(delivery.SweepId), [new HashEntry("lastError", $"{delivery.Id}: {error}"), new HashEntry("lastErrorAt", at.ToUnixTimeMilliseconds())]);

    public Task GiveUpAsync(WebhookDelivery delivery)
    {
        var batch = Db.CreateTransaction();
        Finish(batch, delivery);
        _ = batch.HashIncrementAsync(keys.Outcomes(delivery.SweepId), "failed");
        return batch.ExecuteAsync();
    }

    public async Task<WebhookOutcomes?> OutcomesAsync(string sweepId)
    {
        var fields = (await Db.HashGetAllAsync(keys.Outcomes(sweepId))).ToDictionary(e => (string)e.Name!, e => (string)e.Value!);
        if (fields.Count == 0 && !await Db.SetContainsAsync(keys.Sweeps, sweepId)) return null;
        long Count(string name) => fields.TryGetValue(name, out var v) ? long.Parse(v, CultureInfo.InvariantCulture) : 0;
        return new WebhookOutcomes(Count("delivered"), Count("failed"), Count("retrying"), fields.GetValueOrDefault("lastError"),
            fields.TryGetValue("lastErrorAt", out var at) ? DateTimeOffset.FromUnixTimeMilliseconds(long.Parse(at, CultureInfo.InvariantCulture)) : null);
    }

    private void Add(ITransaction batch, WebhookDelivery delivery)
    {
        _ = batch.HashSetAsync(keys.Delivery(delivery.Id),
        [
            new HashEntry("sweep", delivery.SweepId), new HashEntry("tenant", delivery.Tenant), new HashEntry("url", delivery.Url),
            new HashEntry("event", delivery.Event), new HashEntry("body", delivery.Body), new HashEntry("attempts", 0),
            new HashEntry("firstDueAt", delivery.FirstDueAt.ToUnixTimeMilliseconds()),
        ]);
        _ = batch.SortedSetAddAsync(keys.Pending, delivery.Id, delivery.FirstDueAt.ToUnixTimeMilliseconds());
        // So the status shows the webhook from its first queued event, tracked or not.
        _ = batch.HashSetAsync(keys.Outcomes(delivery.SweepId), "delivered", 0, When.NotExists);
    }

    private void Finish(ITransaction batch, WebhookDelivery delivery)
    {
        // Deliveries can finish after the sweep was forgotten: the outcomes they leave behind do not stay forever.
        _ = batch.KeyExpireAsync(keys.Outcomes(delivery.SweepId), OutcomesTtl);
        _ = batch.SortedSetRemoveAsync(keys.Pending, delivery.Id);
        _ = batch.KeyDeleteAsync(keys.Delivery(delivery.Id));
        if (delivery.Attempts > 0) _ = batch.HashDecrementAsync(keys.Outcomes(delivery.SweepId), "retrying");
    }
}

using Farm.Infrastructure.Progress;
using Farm.Shared.Layout;
using Farm.Testing;
using StackExchange.Redis;
using Xunit;

namespace Farm.Coordinator.Tests.Contracts;

/// <summary>What only Redis has: completion as a bitmap, and the expiry of finished sweeps' keys.</summary>
public sealed class RedisProgressLayoutTests
{
    private static readonly TimeSpan Hour = TimeSpan.FromHours(1);

    private static async Task<(RedisProgressStore Store, IDatabase Db, ProgressKeys Keys)> CreateAsync()
    {
        var redis = await TestServices.ConnectRedisAsync();
        var prefix = TestServices.UniqueRedisPrefix("layout");
        return (new RedisProgressStore(redis, prefix), redis.GetDatabase(), new ProgressKeys(prefix));
    }

    [Fact]
    public async Task Counted_images_are_bits_of_one_string()
    {
        var (store, db, keys) = await CreateAsync();
        await store.CreateSweepAsync("b1", "tiny", 20, 10, 2, DateTimeOffset.UtcNow);
        await store.CompleteImagesAsync("b1", 0, [0, 1], "w1", DateTimeOffset.UtcNow);
        await store.FailImagesAsync("b1", 7, [15], "bad", "w1", DateTimeOffset.UtcNow);
        Assert.Equal(RedisType.String, await db.KeyTypeAsync(keys.Done("b1")));
        Assert.Equal(2, await db.StringLengthAsync(keys.Done("b1")));
        Assert.Equal(3, await db.StringBitCountAsync(keys.Done("b1")));
        var bits = await Task.WhenAll(new long[] { 0, 1, 2, 15 }.Select(i => db.StringGetBitAsync(keys.Done("b1"), i)));
        Assert.Equal([true, true, false, true], bits);

        Assert.Equal([15L], await store.RequeueFailedAsync("b1"));
        Assert.False(await db.StringGetBitAsync(keys.Done("b1"), 15));
        Assert.Equal(2, await db.StringBitCountAsync(keys.Done("b1")));
    }

    [Fact]
    public async Task Every_key_of_a_finished_sweep_expires_after_its_ttl_and_a_requeue_keeps_them_again()
    {
        var (store, db, keys) = await CreateAsync();
        await store.CreateSweepAsync("e1", "tiny", 4, 2, 2, DateTimeOffset.UtcNow, finishedTtl: Hour);
        await store.RecordJobFailureAsync("e1", 1, "w1", blocklistAfter: 1);
        await store.JobStartedAsync("e1", 0, 2, "w2", DateTimeOffset.UtcNow);
        // A job still marked running when the sweep finishes (its worker died): the running hash outlives the counts.
        await store.JobStartedAsync("e1", 9, 2, "w3", DateTimeOffset.UtcNow);
        await store.CompleteImagesAsync("e1", 0, [0, 1], "w2", DateTimeOffset.UtcNow);
        RedisKey[] sweepKeys = [keys.Sweep("e1"), keys.Done("e1"), keys.Running("e1"), keys.Blocklist("e1"), keys.FailureKeys("e1"),
            keys.WorkerFailedJobs("e1", "w1"), keys.JobFailedWorkers("e1", 1)];
        Assert.All(await Ttls(db, [keys.Sweep("e1"), keys.Done("e1")]), ttl => Assert.Null(ttl));

        Assert.True((await store.FailImagesAsync("e1", 1, [2, 3], "bad", "w2", DateTimeOffset.UtcNow)).SweepFinished);
        Assert.All(await Ttls(db, [.. sweepKeys, keys.Failed("e1")]), ttl => Assert.InRange(ttl!.Value, Hour - TimeSpan.FromMinutes(1), Hour));
        Assert.All(await Ttls(db, [keys.Job("e1", 0), keys.Job("e1", 1), keys.Job("e1", 9)]), ttl => Assert.InRange(ttl!.Value, TimeSpan.FromSeconds(1), Hour));

        Assert.Equal([2L, 3L], await store.RequeueFailedAsync("e1"));
        Assert.All(await Ttls(db, [keys.Sweep("e1"), keys.Done("e1")]), ttl => Assert.Null(ttl));
        Assert.All(await Ttls(db, [keys.WorkerFailedJobs("e1", "w1"), keys.JobFailedWorkers("e1", 1)]), ttl => Assert.True(ttl > TimeSpan.FromDays(6)));
    }

    [Fact]
    public async Task Cancelled_and_ended_sweeps_expire_and_one_created_without_a_ttl_stays()
    {
        var (store, db, keys) = await CreateAsync();
        foreach (var id in new[] { "c1", "f1", "k1" })
        {
            await store.CreateSweepAsync(id, "tiny", 4, 2, 2, DateTimeOffset.UtcNow, finishedTtl: id == "k1" ? null : Hour);
            await store.CompleteImagesAsync(id, 0, [0], "w1", DateTimeOffset.UtcNow);
        }
        await store.CancelAsync("c1", DateTimeOffset.UtcNow);
        await store.FailSweepAsync("f1", "too many failures", DateTimeOffset.UtcNow);
        await store.CancelAsync("k1", DateTimeOffset.UtcNow);
        Assert.All(await Ttls(db, [keys.Sweep("c1"), keys.Done("c1"), keys.Sweep("f1"), keys.Done("f1")]), ttl => Assert.InRange(ttl!.Value, TimeSpan.FromMinutes(59), Hour));
        Assert.All(await Ttls(db, [keys.Sweep("k1"), keys.Done("k1")]), ttl => Assert.Null(ttl));
    }

    [Fact]
    public async Task Lists_skip_and_drop_expired_sweeps_and_still_return_up_to_the_limit()
    {
        var (store, db, keys) = await CreateAsync();
        var start = DateTimeOffset.UtcNow.AddHours(-1);
        for (var i = 0; i < 6; i++) await store.CreateSweepAsync($"l{i}", "tiny", 1, 1, 1, start.AddMinutes(i));
        // l5, l3 and l2 expired (their hashes gone, as EXPIRE leaves them): the two newest live ones are l4 and l1.
        await db.KeyDeleteAsync([keys.Sweep("l5"), keys.Sweep("l3"), keys.Sweep("l2")]);
        Assert.Equal(["l4", "l1"], await store.ListSweepIdsAsync(2));
        Assert.Equal(["l4", "l1", "l0"], await store.ListSweepIdsAsync(10));
        Assert.Equal(3, await db.SortedSetLengthAsync(keys.Sweeps));
    }

    [Fact]
    public async Task An_expired_sweep_is_gone_and_a_late_redelivery_does_not_bring_its_keys_back()
    {
        var (store, db, keys) = await CreateAsync();
        await store.CreateSweepAsync("x1", "tiny", 2, 1, 2, DateTimeOffset.UtcNow, finishedTtl: TimeSpan.FromSeconds(1));
        Assert.True((await store.CompleteImagesAsync("x1", 0, [0, 1], "w1", DateTimeOffset.UtcNow)).SweepFinished);
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (await store.GetSweepAsync("x1") is not null && DateTime.UtcNow < deadline) await Task.Delay(200);
        Assert.Null(await store.GetSweepAsync("x1"));
        Assert.False(await db.KeyExistsAsync(keys.Done("x1")));
        // Listing drops it from the lists too.
        Assert.Equal(1, await db.SortedSetLengthAsync(keys.Sweeps));
        Assert.Empty(await store.ListSweepIdsAsync(10));
        Assert.Empty(await store.ListTenantSweepIdsAsync(Farm.Infrastructure.Progress.SweepSnapshot.NoTenant, 10));
        Assert.Equal(0, await db.SortedSetLengthAsync(keys.Sweeps));
        Assert.Equal(0, await db.SortedSetLengthAsync(keys.TenantSweeps(Farm.Infrastructure.Progress.SweepSnapshot.NoTenant)));

        Assert.False(await store.JobStartedAsync("x1", 0, 2, "w1", DateTimeOffset.UtcNow));
        Assert.Equal(new CountResult(0, false), await store.CompleteImagesAsync("x1", 0, [0, 1], "w1", DateTimeOffset.UtcNow));
        Assert.Equal(0, await db.KeyExistsAsync([keys.Sweep("x1"), keys.Done("x1")]));
    }

    private static Task<TimeSpan?[]> Ttls(IDatabase db, RedisKey[] keys) => Task.WhenAll(keys.Select(k => db.KeyTimeToLiveAsync(k)));
}

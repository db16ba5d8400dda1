using StackExchange.Redis;

namespace Farm.Infrastructure.Progress;

public sealed partial class RedisProgressStore
{
    public async Task RestoreSweepAsync(RestoredSweep sweep)
    {
        var id = sweep.Id;
        var tx = Db.CreateTransaction();
        _ = tx.KeyDeleteAsync([keys.Sweep(id), keys.Done(id), keys.Failed(id), keys.Running(id)]);
        List<HashEntry> fields =
        [
            new("model", sweep.Model), new("total", sweep.Total), new("jobs", sweep.Jobs), new("batchSize", sweep.BatchSize),
            new("createdAt", Time(sweep.CreatedAt)), new("completed", sweep.Completed.Count), new("failed", 0),
            new("publishedJobs", sweep.PublishedJobs), new("publishedImages", sweep.PublishedImages), new("tenant", sweep.Tenant),
            new("priority", sweep.Priority),
        ];
        if (sweep.FinishedTtl is { } ttl) fields.Add(new("ttl", TtlSeconds(ttl)));
        if (sweep.FinishedAt is { } finished) fields.Add(new("finishedAt", Time(finished)));
        _ = tx.HashSetAsync(keys.Sweep(id), [.. fields]);
        // The bitmap as Redis stores it (bit i is bit 7 - i % 8 of byte i / 8), in one write rather than a SETBIT per image.
        if (sweep.Completed.Count > 0) _ = tx.StringSetAsync(keys.Done(id), Bitmap(sweep.Completed));
        if (sweep.FinishedAt is not null && sweep.FinishedTtl is { } expiry)
        {
            _ = tx.KeyExpireAsync(keys.Sweep(id), expiry);
            if (sweep.Completed.Count > 0) _ = tx.KeyExpireAsync(keys.Done(id), expiry);
        }
        _ = tx.SortedSetAddAsync(keys.Sweeps, id, sweep.CreatedAt.ToUnixTimeMilliseconds());
        if (sweep.FinishedAt is null) _ = tx.SortedSetAddAsync(keys.OpenSweeps, id, sweep.CreatedAt.ToUnixTimeMilliseconds());
        _ = tx.SortedSetAddAsync(keys.TenantSweeps(sweep.Tenant), id, sweep.CreatedAt.ToUnixTimeMilliseconds());
        await tx.ExecuteAsync();
    }

    private static byte[] Bitmap(IReadOnlyList<long> indices)
    {
        var bytes = new byte[indices.Max() / 8 + 1];
        foreach (var index in indices) bytes[index / 8] |= (byte)(0x80 >> (int)(index % 8));
        return bytes;
    }
}

using System.Globalization;
using Farm.Shared.Contracts;
using Farm.Shared.Layout;
using Farm.Shared.Sweeps;
using StackExchange.Redis;

namespace Farm.Infrastructure.Progress;

/// <summary>
/// The live view in Redis (layout: <see cref="ProgressKeys"/>). Counting runs as one Lua script per job, so
/// "count each index once, clear the running entry, stamp finishedAt when the last image lands" is atomic.
/// </summary>
public sealed partial class RedisProgressStore(IConnectionMultiplexer redis, string prefix) : IProgressStore
{
    private static readonly TimeSpan JobTtl = TimeSpan.FromDays(1);

    // KEYS: sweep, done, running, failed, job. ARGV: jobIndex, now, kind (c completed, k completed from the render cache, f failed), error, idx... A sweep Redis no longer
    // holds (expired, or lost and not yet rebuilt) counts nothing: its keys are not brought back without their hash.
    private const string CountScript = SweepLua.Functions + """
        if redis.call('HEXISTS', KEYS[1], 'total') == 0 then return {0, 0} end
        local added = 0
        for i = 5, #ARGV do
          if redis.call('SETBIT', KEYS[2], ARGV[i], 1) == 0 then
            added = added + 1
            if ARGV[3] == 'f' then redis.call('HSET', KEYS[4], ARGV[i], ARGV[4]) end
          end
        end
        if added > 0 then redis.call('HINCRBY', KEYS[1], ARGV[3] == 'f' and 'failed' or 'completed', added) end
        if added > 0 and ARGV[3] == 'k' then redis.call('HINCRBY', KEYS[1], 'cached', added) end
        redis.call('HDEL', KEYS[3], ARGV[1])
        redis.call('HSET', KEYS[5], 'state', ARGV[3] == 'f' and 'failed' or 'completed', 'updatedAt', ARGV[2])
        redis.call('EXPIRE', KEYS[5], job_ttl(86400))
        local total = tonumber(redis.call('HGET', KEYS[1], 'total') or '0')
        local counted = tonumber(redis.call('HGET', KEYS[1], 'completed') or '0') + tonumber(redis.call('HGET', KEYS[1], 'failed') or '0')
        local finished = 0
        if total > 0 and counted >= total and redis.call('HEXISTS', KEYS[1], 'finishedAt') == 0 then
          redis.call('HSET', KEYS[1], 'finishedAt', ARGV[2])
          expire_finished()
          finished = 1
        end
        return {added, finished}
        """;

    // KEYS: sweep, running, job. ARGV: jobIndex, now, images, worker, ttlSeconds. The cancel check and the start are one
    // step: a job either started before the cancel (and stops at its next step) or does not start at all.
    // A sweep Redis does not hold does not start either (see CountScript).
    private const string StartScript = SweepLua.Functions + """
        if redis.call('HEXISTS', KEYS[1], 'total') == 0 then return 0 end
        if redis.call('HGET', KEYS[1], 'cancelled') == '1' or redis.call('HEXISTS', KEYS[1], 'failedReason') == 1 then return 0 end
        redis.call('HSETNX', KEYS[1], 'startedAt', ARGV[2])
        redis.call('HSET', KEYS[2], ARGV[1], ARGV[3] .. ' 0 1')
        redis.call('HSET', KEYS[3], 'state', 'running', 'worker', ARGV[4], 'step', 0, 'startedAt', ARGV[2], 'updatedAt', ARGV[2])
        redis.call('EXPIRE', KEYS[3], job_ttl(tonumber(ARGV[5])))
        return 1
        """;

    private readonly ProgressKeys keys = new(prefix);
    private IDatabase Db => redis.GetDatabase();

    public async Task CreateSweepAsync(string id, string model, long total, long jobs, int batchSize, DateTimeOffset createdAt, string tenant = SweepSnapshot.NoTenant,
        TimeSpan? finishedTtl = null)
    {
        var batch = Db.CreateTransaction();
        if (finishedTtl is { } ttl) _ = batch.HashSetAsync(keys.Sweep(id), "ttl", TtlSeconds(ttl));
        _ = batch.HashSetAsync(keys.Sweep(id),
        [
            new HashEntry("model", model), new HashEntry("total", total), new HashEntry("jobs", jobs), new HashEntry("batchSize", batchSize),
            new HashEntry("createdAt", Time(createdAt)), new HashEntry("completed", 0), new HashEntry("failed", 0), new HashEntry("publishedJobs", 0),
            new HashEntry("publishedImages", 0), new HashEntry("tenant", tenant),
        ]);
        _ = batch.SortedSetAddAsync(keys.Sweeps, id, createdAt.ToUnixTimeMilliseconds());
        _ = batch.SortedSetAddAsync(keys.OpenSweeps, id, createdAt.ToUnixTimeMilliseconds());
        _ = batch.SortedSetAddAsync(keys.TenantSweeps(tenant), id, createdAt.ToUnixTimeMilliseconds());
        await batch.ExecuteAsync();
    }

    public async Task<SweepSnapshot?> GetSweepAsync(string id)
    {
        // One MULTI: the counters and the running jobs come from the same instant, so they always add up.
        var tx = Db.CreateTransaction();
        var sweepTask = tx.HashGetAllAsync(keys.Sweep(id));
        var runningTask = tx.HashGetAllAsync(keys.Running(id));
        await tx.ExecuteAsync();
        var fields = (await sweepTask).ToDictionary(e => (string)e.Name!, e => (string)e.Value!);
        if (fields.Count == 0 || !fields.ContainsKey("total")) return null;
        long running = 0;
        double fraction = 0;
        foreach (var entry in await runningTask)
        {
            var parts = ((string)entry.Value!).Split(' ');
            var images = long.Parse(parts[0], CultureInfo.InvariantCulture);
            var step = double.Parse(parts[1], CultureInfo.InvariantCulture);
            var totalSteps = double.Parse(parts[2], CultureInfo.InvariantCulture);
            running += images;
            fraction += totalSteps > 0 ? images * step / totalSteps : 0;
        }
        return new SweepSnapshot(id, fields.GetValueOrDefault("model", ""), Long(fields, "total"), Long(fields, "jobs"), (int)Long(fields, "batchSize"),
            ParseTime(fields.GetValueOrDefault("createdAt")) ?? DateTimeOffset.UnixEpoch,
            ParseTime(fields.GetValueOrDefault("startedAt")), ParseTime(fields.GetValueOrDefault("finishedAt")),
            fields.GetValueOrDefault("cancelled") == "1", Long(fields, "publishedJobs"), Long(fields, "completed"), Long(fields, "failed"), running, fraction,
            fields.GetValueOrDefault("tenant") is { Length: > 0 } tenant ? tenant : SweepSnapshot.NoTenant,
            fields.TryGetValue("priority", out var priority) ? int.Parse(priority, CultureInfo.InvariantCulture) : SweepPriority.Default,
            fields.GetValueOrDefault("paused") == "1", Long(fields, "publishedImages"), fields.GetValueOrDefault("failedReason"), Long(fields, "cached"));
    }

    // KEYS: a sweep list. ARGV: the sweep hash's key prefix, limit. Newest first; the ids of expired sweeps are dropped
    // from the list on the way, so lists do not grow with every sweep ever run.
    private const string ListLiveScript = """
        local limit = tonumber(ARGV[2])
        local live, start = {}, 0
        while #live < limit do
          local ids = redis.call('ZREVRANGE', KEYS[1], start, start + limit - 1)
          if #ids == 0 then break end
          for _, id in ipairs(ids) do
            if redis.call('EXISTS', ARGV[1] .. id) == 1 then
              if #live < limit then live[#live + 1] = id end
              start = start + 1
            else
              redis.call('ZREM', KEYS[1], id)
            end
          end
        end
        return live
        """;

    public Task<IReadOnlyList<string>> ListSweepIdsAsync(int limit) => ListLiveAsync(keys.Sweeps, limit);

    public Task<IReadOnlyList<string>> ListTenantSweepIdsAsync(string tenant, int limit) => ListLiveAsync(keys.TenantSweeps(tenant), limit);

    private async Task<IReadOnlyList<string>> ListLiveAsync(string list, int limit) =>
        ((RedisResult[])(await Db.ScriptEvaluateAsync(ListLiveScript, [list], [keys.Sweep(""), limit]))!).Select(r => (string)r!).ToList();

    public async Task<string?> ClaimIdempotencyKeyAsync(string key, string value)
    {
        if (await Db.StringSetAsync(keys.Idempotency(key), value, TimeSpan.FromDays(7), When.NotExists)) return null;
        return await Db.StringGetAsync(keys.Idempotency(key));
    }

    public Task SetPublishedAsync(string id, long publishedJobs, long publishedImages) =>
        Db.HashSetAsync(keys.Sweep(id), [new HashEntry("publishedJobs", publishedJobs), new HashEntry("publishedImages", publishedImages)]);

    public Task<bool> SetPriorityAsync(string id, int priority) => SetIfSweepExistsAsync(id, "priority", priority);

    public Task<bool> SetPausedAsync(string id, bool paused) => SetIfSweepExistsAsync(id, "paused", paused ? 1 : 0);

    private const string SetIfExistsScript = """
        if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
        redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
        return 1
        """;

    private async Task<bool> SetIfSweepExistsAsync(string id, string field, long value) =>
        (int)await Db.ScriptEvaluateAsync(SetIfExistsScript, [keys.Sweep(id)], [field, value]) == 1;

    // KEYS: sweep. ARGV: now.
    private const string CancelScript = SweepLua.Functions + """
        if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
        redis.call('HSET', KEYS[1], 'cancelled', 1)
        redis.call('HSETNX', KEYS[1], 'finishedAt', ARGV[1])
        expire_finished()
        return 1
        """;

    public async Task<bool> CancelAsync(string id, DateTimeOffset at)
    {
        if ((int)await Db.ScriptEvaluateAsync(CancelScript, [keys.Sweep(id)], [Time(at)]) == 0) return false;
        await PublishAsync(new SweepProgressed(ProgressKinds.SweepCancelled, id));
        return true;
    }

    public async Task<bool> IsCancelledAsync(string id)
    {
        var fields = await Db.HashGetAsync(keys.Sweep(id), ["cancelled", "failedReason"]);
        return (string?)fields[0] == "1" || !fields[1].IsNull;
    }

    public async Task<bool> JobStartedAsync(string sweepId, long jobIndex, int images, string worker, DateTimeOffset at)
    {
        RedisKey[] scriptKeys = [keys.Sweep(sweepId), keys.Running(sweepId), keys.Job(sweepId, jobIndex)];
        RedisValue[] args = [jobIndex, Time(at), images, worker, (long)JobTtl.TotalSeconds];
        if ((int)(await Db.ScriptEvaluateAsync(StartScript, scriptKeys, args)) == 0) return false;
        await PublishAsync(new SweepProgressed(ProgressKinds.JobStarted, sweepId, jobIndex, Worker: worker));
        return true;
    }

    public async Task StepAsync(string sweepId, long jobIndex, int images, int step, int totalSteps, string worker)
    {
        var batch = Db.CreateBatch();
        var tasks = new Task[]
        {
            batch.HashSetAsync(keys.Running(sweepId), jobIndex, $"{images} {step} {totalSteps}"),
            batch.HashSetAsync(keys.Job(sweepId, jobIndex), [new HashEntry("step", step), new HashEntry("totalSteps", totalSteps), new HashEntry("updatedAt", Time(DateTimeOffset.UtcNow))]),
            batch.PublishAsync(RedisChannel.Literal(keys.Channel(sweepId)), FarmJson.Serialize(new SweepProgressed(ProgressKinds.Step, sweepId, jobIndex, Step: step, TotalSteps: totalSteps, Worker: worker))),
        };
        batch.Execute();
        await Task.WhenAll(tasks);
    }

    public Task<CountResult> CompleteImagesAsync(string sweepId, long jobIndex, IReadOnlyList<long> indices, string worker, DateTimeOffset at, bool cached = false) =>
        CountAsync(sweepId, jobIndex, indices, cached ? "k" : "c", "", at);

    public Task<CountResult> FailImagesAsync(string sweepId, long jobIndex, IReadOnlyList<long> indices, string error, string worker, DateTimeOffset at) =>
        CountAsync(sweepId, jobIndex, indices, "f", error, at);

    private async Task<CountResult> CountAsync(string sweepId, long jobIndex, IReadOnlyList<long> indices, string kind, string error, DateTimeOffset at)
    {
        RedisKey[] scriptKeys = [keys.Sweep(sweepId), keys.Done(sweepId), keys.Running(sweepId), keys.Failed(sweepId), keys.Job(sweepId, jobIndex)];
        RedisValue[] args = [jobIndex, Time(at), kind, error, .. indices.Select(i => (RedisValue)i)];
        var result = (RedisResult[])(await Db.ScriptEvaluateAsync(CountScript, scriptKeys, args))!;
        return new CountResult((int)result[0], (int)result[1] == 1);
    }

    public async Task JobStoppedAsync(string sweepId, long jobIndex, string state)
    {
        await Db.HashDeleteAsync(keys.Running(sweepId), jobIndex);
        await Db.HashSetAsync(keys.Job(sweepId, jobIndex), "state", state);
    }

    public async Task<IReadOnlyList<string>> GetImageStatesAsync(string sweepId, IReadOnlyList<long> indices)
    {
        var batch = Db.CreateBatch();
        var done = indices.Select(i => batch.StringGetBitAsync(keys.Done(sweepId), i)).ToList();
        var failed = indices.Select(i => batch.HashExistsAsync(keys.Failed(sweepId), i)).ToList();
        batch.Execute();
        var states = new List<string>(indices.Count);
        for (var i = 0; i < indices.Count; i++)
            states.Add(!await done[i] ? "queued" : await failed[i] ? "failed" : "completed");
        return states;
    }

    public async Task<string?> GetImageErrorAsync(string sweepId, long index) => await Db.HashGetAsync(keys.Failed(sweepId), index);

    public async Task<IReadOnlyList<long>> GetRunningJobsAsync(string sweepId) =>
        (await Db.HashKeysAsync(keys.Running(sweepId))).Select(k => (long)k).Order().ToList();

    public Task PublishAsync(SweepProgressed progress) =>
        redis.GetSubscriber().PublishAsync(RedisChannel.Literal(keys.Channel(progress.SweepId)), FarmJson.Serialize(progress));

    public async Task<IAsyncDisposable> SubscribeAsync(string sweepId, Action<SweepProgressed> onProgress)
    {
        var subscriber = redis.GetSubscriber();
        var channel = new RedisChannel(keys.Channel(sweepId), RedisChannel.PatternMode.Literal);
        Action<RedisChannel, RedisValue> handler = (_, value) =>
        {
            try
            {
                onProgress(FarmJson.Deserialize<SweepProgressed>(value!));
            }
            catch
            {
                // A malformed message or a failing subscriber must not take the connection's reader down.
            }
        };
        await subscriber.SubscribeAsync(channel, handler);
        return new Subscription(() => subscriber.UnsubscribeAsync(channel, handler));
    }

    public async Task HeartbeatAsync(WorkerHeartbeat heartbeat) =>
        await Db.HashSetAsync(keys.Workers, heartbeat.WorkerId, FarmJson.Serialize(heartbeat));

    public Task RemoveWorkerAsync(string workerId) => Db.HashDeleteAsync(keys.Workers, workerId);

    public async Task<IReadOnlyList<WorkerHeartbeat>> ListWorkersAsync(TimeSpan maxAge)
    {
        var now = DateTimeOffset.UtcNow;
        var result = new List<WorkerHeartbeat>();
        foreach (var entry in await Db.HashGetAllAsync(keys.Workers))
        {
            var heartbeat = FarmJson.Deserialize<WorkerHeartbeat>(entry.Value!);
            if (now - heartbeat.At <= maxAge) result.Add(heartbeat);
            else if (now - heartbeat.At > TimeSpan.FromHours(1)) await Db.HashDeleteAsync(keys.Workers, entry.Name);
        }
        return result.OrderBy(w => w.WorkerId, StringComparer.Ordinal).ToList();
    }

    private static long TtlSeconds(TimeSpan ttl) => Math.Max(1, (long)Math.Ceiling(ttl.TotalSeconds));

    private static string Time(DateTimeOffset t) => t.ToUniversalTime().ToString("O", CultureInfo.InvariantCulture);

    private static DateTimeOffset? ParseTime(string? text) =>
        text is null ? null : DateTimeOffset.Parse(text, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind);

    private static long Long(Dictionary<string, string> fields, string name) =>
        fields.TryGetValue(name, out var v) ? long.Parse(v, CultureInfo.InvariantCulture) : 0;

    private sealed class Subscription(Func<Task> dispose) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync() => await dispose();
    }
}

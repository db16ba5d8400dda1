using StackExchange.Redis;

namespace Farm.Infrastructure.Progress;

public sealed partial class RedisProgressStore
{
    // KEYS: sweep, done, failed. Returns the failed indices, now uncounted; a reopened sweep no longer expires.
    private const string RequeueScript = SweepLua.Functions + """
        if redis.call('EXISTS', KEYS[1]) == 0 or redis.call('HGET', KEYS[1], 'cancelled') == '1' then return {} end
        local failed = redis.call('HKEYS', KEYS[3])
        redis.call('HDEL', KEYS[1], 'failedReason')
        if #failed == 0 then return {} end
        for _, index in ipairs(failed) do redis.call('SETBIT', KEYS[2], index, 0) end
        redis.call('DEL', KEYS[3])
        redis.call('HINCRBY', KEYS[1], 'failed', -#failed)
        redis.call('HDEL', KEYS[1], 'finishedAt')
        keep_reopened()
        return failed
        """;

    // KEYS: the worker's failed jobs, the job's failed workers, blocklist, the sweep's failure keys (so that they expire
    // with the sweep). ARGV: worker, jobIndex, blocklistAfter.
    private const string JobFailureScript = """
        redis.call('SADD', KEYS[1], ARGV[2])
        redis.call('SADD', KEYS[2], ARGV[1])
        redis.call('SADD', KEYS[4], KEYS[1], KEYS[2])
        redis.call('EXPIRE', KEYS[1], 604800)
        redis.call('EXPIRE', KEYS[2], 604800)
        redis.call('EXPIRE', KEYS[4], 604800)
        local blocklisted = 0
        if redis.call('SCARD', KEYS[1]) >= tonumber(ARGV[3]) then
          blocklisted = redis.call('SADD', KEYS[3], ARGV[1])
          redis.call('EXPIRE', KEYS[3], 604800)
        end
        return {redis.call('SCARD', KEYS[2]), blocklisted}
        """;

    // KEYS: blocklist, the job's failed workers. ARGV: worker.
    private const string BarredScript = """
        return redis.call('SISMEMBER', KEYS[1], ARGV[1]) + redis.call('SISMEMBER', KEYS[2], ARGV[1])
        """;

    // KEYS: running. ARGV: job key prefix, live workers... A job whose key is gone (expired) has no worker either, and
    // its key is not made again (it would have no expiry).
    private const string ForgetDeadScript = """
        local live = {}
        for i = 2, #ARGV do live[ARGV[i]] = true end
        local forgotten = 0
        for _, job in ipairs(redis.call('HKEYS', KEYS[1])) do
          local worker = redis.call('HGET', ARGV[1] .. job, 'worker')
          if not worker or not live[worker] then
            redis.call('HDEL', KEYS[1], job)
            if worker then redis.call('HSET', ARGV[1] .. job, 'state', 'queued') end
            forgotten = forgotten + 1
          end
        end
        return forgotten
        """;

    // KEYS: sweep. ARGV: reason, now.
    private const string FailSweepScript = SweepLua.Functions + """
        if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
        redis.call('HSETNX', KEYS[1], 'failedReason', ARGV[1])
        redis.call('HSETNX', KEYS[1], 'finishedAt', ARGV[2])
        expire_finished()
        return 1
        """;

    public async Task FailSweepAsync(string id, string reason, DateTimeOffset at)
    {
        await Db.ScriptEvaluateAsync(FailSweepScript, [keys.Sweep(id)], [reason, Time(at)]);
        await PublishAsync(new(Shared.Contracts.ProgressKinds.SweepFinished, id, Error: reason));
    }

    public async Task<IReadOnlyList<long>> RequeueFailedAsync(string id)
    {
        var result = (RedisResult[])(await Db.ScriptEvaluateAsync(RequeueScript, [keys.Sweep(id), keys.Done(id), keys.Failed(id)]))!;
        if (result.Length > 0 && await GetSweepAsync(id) is { } reopened)
            await Db.SortedSetAddAsync(keys.OpenSweeps, id, reopened.CreatedAt.ToUnixTimeMilliseconds());
        return result.Select(r => (long)r).Order().ToList();
    }

    public async Task<JobFailure> RecordJobFailureAsync(string sweepId, long jobIndex, string worker, int blocklistAfter)
    {
        var result = (RedisResult[])(await Db.ScriptEvaluateAsync(JobFailureScript,
            [keys.WorkerFailedJobs(sweepId, worker), keys.JobFailedWorkers(sweepId, jobIndex), keys.Blocklist(sweepId), keys.FailureKeys(sweepId)],
            [worker, jobIndex, blocklistAfter]))!;
        return new JobFailure((int)result[0], (int)result[1] == 1);
    }

    public async Task<bool> IsBarredAsync(string sweepId, long jobIndex, string worker) =>
        (int)await Db.ScriptEvaluateAsync(BarredScript, [keys.Blocklist(sweepId), keys.JobFailedWorkers(sweepId, jobIndex)], [worker]) > 0;

    public async Task<IReadOnlyList<string>> GetBlocklistAsync(string sweepId) =>
        (await Db.SetMembersAsync(keys.Blocklist(sweepId))).Select(v => (string)v!).Order(StringComparer.Ordinal).ToList();

    public async Task<int> ForgetJobsOfDeadWorkersAsync(string sweepId, IReadOnlySet<string> liveWorkers) =>
        (int)await Db.ScriptEvaluateAsync(ForgetDeadScript, [keys.Running(sweepId)],
            [keys.JobPrefix(sweepId), .. liveWorkers.Select(w => (RedisValue)w)]);
}

using StackExchange.Redis;

namespace Farm.Infrastructure.Progress;

public sealed partial class RedisProgressStore
{
    // KEYS: sweep, done, failed. Returns the failed indices, now uncounted.
    private const string RequeueScript = """
        if redis.call('EXISTS', KEYS[1]) == 0 or redis.call('HGET', KEYS[1], 'cancelled') == '1' then return {} end
        local failed = redis.call('HKEYS', KEYS[3])
        for _, index in ipairs(failed) do redis.call('SREM', KEYS[2], index) end
        redis.call('DEL', KEYS[3])
        redis.call('HINCRBY', KEYS[1], 'failed', -#failed)
        redis.call('HDEL', KEYS[1], 'failedReason')
        if #failed > 0 then redis.call('HDEL', KEYS[1], 'finishedAt') end
        return failed
        """;

    // KEYS: sweep, the worker's failed jobs, blocklist. ARGV: worker, jobIndex, blocklistAfter. Retries of one job count once.
    private const string WorkerFailureScript = """
        redis.call('SADD', KEYS[2], ARGV[2])
        redis.call('EXPIRE', KEYS[2], 604800)
        if redis.call('SCARD', KEYS[2]) >= tonumber(ARGV[3]) then
          redis.call('SADD', KEYS[3], ARGV[1])
          redis.call('EXPIRE', KEYS[3], 604800)
          return 1
        end
        return 0
        """;

    // KEYS: running. ARGV: job key prefix, live workers... A job whose key is gone (expired) has no worker either.
    private const string ForgetDeadScript = """
        local live = {}
        for i = 2, #ARGV do live[ARGV[i]] = true end
        local forgotten = 0
        for _, job in ipairs(redis.call('HKEYS', KEYS[1])) do
          local worker = redis.call('HGET', ARGV[1] .. job, 'worker')
          if not worker or not live[worker] then
            redis.call('HDEL', KEYS[1], job)
            redis.call('HSET', ARGV[1] .. job, 'state', 'queued')
            forgotten = forgotten + 1
          end
        end
        return forgotten
        """;

    public async Task FailSweepAsync(string id, string reason, DateTimeOffset at)
    {
        var tx = Db.CreateTransaction();
        tx.AddCondition(Condition.KeyExists(keys.Sweep(id)));
        _ = tx.HashSetAsync(keys.Sweep(id), "failedReason", reason, When.NotExists);
        _ = tx.HashSetAsync(keys.Sweep(id), "finishedAt", Time(at), When.NotExists);
        await tx.ExecuteAsync();
        await PublishAsync(new(Shared.Contracts.ProgressKinds.SweepFinished, id, Error: reason));
    }

    public async Task<IReadOnlyList<long>> RequeueFailedAsync(string id)
    {
        var result = (RedisResult[])(await Db.ScriptEvaluateAsync(RequeueScript, [keys.Sweep(id), keys.Done(id), keys.Failed(id)]))!;
        return result.Select(r => (long)r).Order().ToList();
    }

    public async Task<bool> RecordWorkerFailureAsync(string sweepId, long jobIndex, string worker, int blocklistAfter) =>
        (int)await Db.ScriptEvaluateAsync(WorkerFailureScript, [keys.Sweep(sweepId), keys.WorkerFailedJobs(sweepId, worker), keys.Blocklist(sweepId)],
            [worker, jobIndex, blocklistAfter]) == 1;

    public async Task<IReadOnlyList<string>> GetBlocklistAsync(string sweepId) =>
        (await Db.SetMembersAsync(keys.Blocklist(sweepId))).Select(v => (string)v!).Order(StringComparer.Ordinal).ToList();

    public async Task<int> ForgetJobsOfDeadWorkersAsync(string sweepId, IReadOnlySet<string> liveWorkers) =>
        (int)await Db.ScriptEvaluateAsync(ForgetDeadScript, [keys.Running(sweepId)],
            [keys.JobPrefix(sweepId), .. liveWorkers.Select(w => (RedisValue)w)]);
}

namespace Farm.Infrastructure.Progress;

/// <summary>
/// Lua helpers the progress scripts share; each script that uses them passes the sweep hash as KEYS[1]. The sweep's
/// other keys are named from it (<see cref="Shared.Layout.ProgressKeys"/>: <c>sweep:{id}:done</c> and so on).
/// </summary>
internal static class SweepLua
{
    /// <summary>
    /// <c>expire_finished()</c>: the sweep finished, so all its keys expire after the hash's <c>ttl</c> (seconds; none
    /// when absent or 0); <c>keep_reopened()</c>: a reopened sweep's keys no longer expire; <c>job_ttl(limit)</c>: a
    /// per-job key's expiry, at most the sweep's <c>ttl</c>, so that job keys written before the finish are gone by then too.
    /// </summary>
    public const string Functions = """
        local sweep_suffixes = {'', ':done', ':failed', ':running', ':blocklist', ':failure-keys'}
        local function sweep_ttl() return tonumber(redis.call('HGET', KEYS[1], 'ttl') or '0') or 0 end
        local function expire_finished()
          local ttl = sweep_ttl()
          if ttl <= 0 then return end
          for _, key in ipairs(redis.call('SMEMBERS', KEYS[1] .. ':failure-keys')) do redis.call('EXPIRE', key, ttl) end
          for _, suffix in ipairs(sweep_suffixes) do redis.call('EXPIRE', KEYS[1] .. suffix, ttl) end
        end
        local function keep_reopened()
          for _, suffix in ipairs(sweep_suffixes) do redis.call('PERSIST', KEYS[1] .. suffix) end
          for _, key in ipairs(redis.call('SMEMBERS', KEYS[1] .. ':failure-keys')) do redis.call('EXPIRE', key, 604800) end
        end
        local function job_ttl(limit)
          local ttl = sweep_ttl()
          if ttl > 0 and ttl < limit then return ttl end
          return limit
        end

        """;
}

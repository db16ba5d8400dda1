using Farm.Shared.Contracts;

namespace Farm.Infrastructure.Progress;

public sealed partial class InMemoryProgressStore
{
    public async Task FailSweepAsync(string id, string reason, DateTimeOffset at)
    {
        lock (gate)
        {
            if (!sweeps.TryGetValue(id, out var s)) return;
            s.FailedReason ??= reason;
            s.FinishedAt ??= at;
        }
        await PublishAsync(new SweepProgressed(ProgressKinds.SweepFinished, id, Error: reason));
    }

    public Task<IReadOnlyList<long>> RequeueFailedAsync(string id)
    {
        lock (gate)
        {
            if (!sweeps.TryGetValue(id, out var s) || s.Cancelled) return Task.FromResult<IReadOnlyList<long>>([]);
            var failed = s.Errors.Keys.Order().ToList();
            foreach (var index in failed) s.Done.Remove(index);
            s.Errors.Clear();
            s.Failed -= failed.Count;
            s.FailedReason = null;
            if (failed.Count > 0)
            {
                s.FinishedAt = null;
                open.Add(id);
            }
            return Task.FromResult<IReadOnlyList<long>>(failed);
        }
    }

    public Task<JobFailure> RecordJobFailureAsync(string sweepId, long jobIndex, string worker, int blocklistAfter)
    {
        lock (gate)
        {
            if (!sweeps.TryGetValue(sweepId, out var s)) return Task.FromResult(new JobFailure(0, false));
            if (!s.WorkerFailedJobs.TryGetValue(worker, out var jobs)) s.WorkerFailedJobs[worker] = jobs = [];
            if (!s.JobFailedWorkers.TryGetValue(jobIndex, out var workers)) s.JobFailedWorkers[jobIndex] = workers = new(StringComparer.Ordinal);
            jobs.Add(jobIndex);
            workers.Add(worker);
            var blocklisted = jobs.Count >= blocklistAfter && s.Blocklist.Add(worker);
            return Task.FromResult(new JobFailure(workers.Count, blocklisted));
        }
    }

    public Task<bool> IsBarredAsync(string sweepId, long jobIndex, string worker)
    {
        lock (gate)
            return Task.FromResult(sweeps.TryGetValue(sweepId, out var s)
                && (s.Blocklist.Contains(worker) || s.JobFailedWorkers.TryGetValue(jobIndex, out var w) && w.Contains(worker)));
    }

    public Task<IReadOnlyList<string>> GetBlocklistAsync(string sweepId)
    {
        lock (gate)
            return Task.FromResult<IReadOnlyList<string>>(sweeps.TryGetValue(sweepId, out var s) ? s.Blocklist.Order(StringComparer.Ordinal).ToList() : []);
    }

    public Task<int> ForgetJobsOfDeadWorkersAsync(string sweepId, IReadOnlySet<string> liveWorkers)
    {
        lock (gate)
        {
            if (!sweeps.TryGetValue(sweepId, out var s)) return Task.FromResult(0);
            var dead = s.Running.Keys.Where(job => !s.RunningWorker.TryGetValue(job, out var w) || !liveWorkers.Contains(w)).ToList();
            foreach (var job in dead) s.Running.Remove(job);
            return Task.FromResult(dead.Count);
        }
    }
}

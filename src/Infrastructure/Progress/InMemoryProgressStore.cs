using Farm.Shared.Contracts;
using Farm.Shared.Sweeps;

namespace Farm.Infrastructure.Progress;

/// <summary>The live view in memory for the embedded default: same semantics as <see cref="RedisProgressStore"/>, one lock.</summary>
public sealed partial class InMemoryProgressStore : IProgressStore
{
    private sealed class Sweep
    {
        public required string Id, Model, Tenant;
        public long Total, Jobs, PublishedJobs, PublishedImages, Completed, Failed, Cached;
        public int BatchSize;
        public DateTimeOffset CreatedAt;
        public DateTimeOffset? StartedAt, FinishedAt;
        public bool Cancelled, Paused;
        public int Priority = SweepPriority.Default;
        public string? FailedReason;
        public readonly HashSet<long> Done = [];
        public readonly Dictionary<long, string> Errors = [];
        public readonly Dictionary<long, (int Images, int Step, int Total)> Running = [];
        public readonly Dictionary<long, string> RunningWorker = [];
        public readonly Dictionary<string, HashSet<long>> WorkerFailedJobs = new(StringComparer.Ordinal);
        public readonly Dictionary<long, HashSet<string>> JobFailedWorkers = [];
        public readonly HashSet<string> Blocklist = new(StringComparer.Ordinal);
    }

    private readonly object gate = new();
    private readonly Dictionary<string, Sweep> sweeps = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> idempotency = new(StringComparer.Ordinal);
    private readonly Dictionary<string, WorkerHeartbeat> workers = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<Action<SweepProgressed>>> subscribers = new(StringComparer.Ordinal);

    /// <remarks>Memory keeps finished sweeps until the process ends, so <paramref name="finishedTtl"/> is not needed here.</remarks>
    public Task CreateSweepAsync(string id, string model, long total, long jobs, int batchSize, DateTimeOffset createdAt, string tenant = SweepSnapshot.NoTenant,
        TimeSpan? finishedTtl = null)
    {
        lock (gate)
        {
            sweeps[id] = new Sweep { Id = id, Model = model, Tenant = tenant, Total = total, Jobs = jobs, BatchSize = batchSize, CreatedAt = createdAt };
            open.Add(id);
        }
        return Task.CompletedTask;
    }

    public Task RestoreSweepAsync(RestoredSweep sweep)
    {
        var restored = new Sweep
        {
            Id = sweep.Id, Model = sweep.Model, Tenant = sweep.Tenant, Total = sweep.Total, Jobs = sweep.Jobs, BatchSize = sweep.BatchSize,
            CreatedAt = sweep.CreatedAt, Priority = sweep.Priority, PublishedJobs = sweep.PublishedJobs, PublishedImages = sweep.PublishedImages,
            FinishedAt = sweep.FinishedAt,
        };
        restored.Done.UnionWith(sweep.Completed);
        restored.Completed = restored.Done.Count;
        lock (gate)
        {
            sweeps[sweep.Id] = restored;
            if (sweep.FinishedAt is null) open.Add(sweep.Id);
        }
        return Task.CompletedTask;
    }

    public Task<SweepSnapshot?> GetSweepAsync(string id)
    {
        lock (gate)
        {
            if (!sweeps.TryGetValue(id, out var s)) return Task.FromResult<SweepSnapshot?>(null);
            var running = s.Running.Values.Sum(r => (long)r.Images);
            var fraction = s.Running.Values.Sum(r => r.Total == 0 ? 0 : r.Images * (double)r.Step / r.Total);
            return Task.FromResult<SweepSnapshot?>(new SweepSnapshot(s.Id, s.Model, s.Total, s.Jobs, s.BatchSize, s.CreatedAt, s.StartedAt, s.FinishedAt,
                s.Cancelled, s.PublishedJobs, s.Completed, s.Failed, running, fraction, s.Tenant, s.Priority, s.Paused, s.PublishedImages, s.FailedReason, s.Cached));
        }
    }

    public Task<IReadOnlyList<string>> ListSweepIdsAsync(int limit) => List(_ => true, limit);

    public Task<IReadOnlyList<string>> ListTenantSweepIdsAsync(string tenant, int limit) => List(s => s.Tenant == tenant, limit);

    private Task<IReadOnlyList<string>> List(Func<Sweep, bool> include, int limit)
    {
        lock (gate)
            return Task.FromResult<IReadOnlyList<string>>(sweeps.Values.Where(include).OrderByDescending(s => s.CreatedAt).ThenByDescending(s => s.Id, StringComparer.Ordinal)
                .Take(limit).Select(s => s.Id).ToList());
    }

    public Task<string?> ClaimIdempotencyKeyAsync(string key, string value)
    {
        lock (gate)
        {
            if (idempotency.TryGetValue(key, out var existing)) return Task.FromResult<string?>(existing);
            idempotency[key] = value;
            return Task.FromResult<string?>(null);
        }
    }

    public Task SetPublishedAsync(string id, long publishedJobs, long publishedImages)
    {
        lock (gate)
            if (sweeps.TryGetValue(id, out var s)) (s.PublishedJobs, s.PublishedImages) = (publishedJobs, publishedImages);
        return Task.CompletedTask;
    }

    public Task<bool> SetPriorityAsync(string id, int priority) => Update(id, s => s.Priority = priority);

    public Task<bool> SetPausedAsync(string id, bool paused) => Update(id, s => s.Paused = paused);

    private Task<bool> Update(string id, Action<Sweep> change)
    {
        lock (gate)
        {
            if (!sweeps.TryGetValue(id, out var s)) return Task.FromResult(false);
            change(s);
            return Task.FromResult(true);
        }
    }

    public async Task<bool> CancelAsync(string id, DateTimeOffset at)
    {
        lock (gate)
        {
            if (!sweeps.TryGetValue(id, out var s)) return false;
            s.Cancelled = true;
            s.FinishedAt ??= at;
        }
        await PublishAsync(new SweepProgressed(ProgressKinds.SweepCancelled, id));
        return true;
    }

    public Task<bool> IsCancelledAsync(string id)
    {
        lock (gate)
            return Task.FromResult(sweeps.TryGetValue(id, out var s) && (s.Cancelled || s.FailedReason is not null));
    }

    public Task<bool> JobStartedAsync(string sweepId, long jobIndex, int images, string worker, DateTimeOffset at)
    {
        lock (gate)
            if (sweeps.TryGetValue(sweepId, out var s))
            {
                if (s.Cancelled || s.FailedReason is not null) return Task.FromResult(false);
                s.StartedAt ??= at;
                s.Running[jobIndex] = (images, 0, 1);
                s.RunningWorker[jobIndex] = worker;
                return Task.FromResult(true);
            }
        return Task.FromResult(false);
    }

    public Task StepAsync(string sweepId, long jobIndex, int images, int step, int totalSteps, string worker)
    {
        lock (gate)
            if (sweeps.TryGetValue(sweepId, out var s))
            {
                s.Running[jobIndex] = (images, step, totalSteps);
                s.RunningWorker[jobIndex] = worker;
            }
        return PublishAsync(new SweepProgressed(ProgressKinds.Step, sweepId, jobIndex, Step: step, TotalSteps: totalSteps, Worker: worker));
    }

    public Task<CountResult> CompleteImagesAsync(string sweepId, long jobIndex, IReadOnlyList<long> indices, string worker, DateTimeOffset at, bool cached = false) =>
        Count(sweepId, jobIndex, indices, null, at, cached);

    public Task<CountResult> FailImagesAsync(string sweepId, long jobIndex, IReadOnlyList<long> indices, string error, string worker, DateTimeOffset at) =>
        Count(sweepId, jobIndex, indices, error, at);

    private Task<CountResult> Count(string sweepId, long jobIndex, IReadOnlyList<long> indices, string? error, DateTimeOffset at, bool cached = false)
    {
        lock (gate)
        {
            if (!sweeps.TryGetValue(sweepId, out var s)) return Task.FromResult(new CountResult(0, false));
            var added = 0;
            foreach (var index in indices)
            {
                if (!s.Done.Add(index)) continue;
                added++;
                if (error is not null) s.Errors[index] = error;
            }
            if (error is null) s.Completed += added;
            else s.Failed += added;
            if (error is null && cached) s.Cached += added;
            s.Running.Remove(jobIndex);
            var finished = s.Total > 0 && s.Done.Count >= s.Total && s.FinishedAt is null;
            if (finished) s.FinishedAt = at;
            return Task.FromResult(new CountResult(added, finished));
        }
    }

    public Task JobStoppedAsync(string sweepId, long jobIndex, string state)
    {
        lock (gate)
            if (sweeps.TryGetValue(sweepId, out var s)) s.Running.Remove(jobIndex);
        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<string>> GetImageStatesAsync(string sweepId, IReadOnlyList<long> indices)
    {
        lock (gate)
        {
            sweeps.TryGetValue(sweepId, out var s);
            return Task.FromResult<IReadOnlyList<string>>(indices
                .Select(i => s is null || !s.Done.Contains(i) ? "queued" : s.Errors.ContainsKey(i) ? "failed" : "completed").ToList());
        }
    }

    public Task<string?> GetImageErrorAsync(string sweepId, long index)
    {
        lock (gate)
            return Task.FromResult(sweeps.TryGetValue(sweepId, out var s) && s.Errors.TryGetValue(index, out var e) ? e : null);
    }

    public Task<IReadOnlyList<long>> GetRunningJobsAsync(string sweepId)
    {
        lock (gate)
            return Task.FromResult<IReadOnlyList<long>>(sweeps.TryGetValue(sweepId, out var s) ? s.Running.Keys.Order().ToList() : []);
    }

    public Task PublishAsync(SweepProgressed progress)
    {
        Action<SweepProgressed>[] handlers;
        lock (gate)
            handlers = subscribers.TryGetValue(progress.SweepId, out var list) ? [.. list] : [];
        foreach (var handler in handlers)
        {
            try
            {
                handler(progress);
            }
            catch
            {
                // A subscriber's failure is its own; the publisher (a render) must not notice.
            }
        }
        return Task.CompletedTask;
    }

    public Task<IAsyncDisposable> SubscribeAsync(string sweepId, Action<SweepProgressed> onProgress)
    {
        lock (gate)
        {
            if (!subscribers.TryGetValue(sweepId, out var list)) subscribers[sweepId] = list = [];
            list.Add(onProgress);
        }
        return Task.FromResult<IAsyncDisposable>(new Subscription(() =>
        {
            lock (gate) subscribers[sweepId].Remove(onProgress);
        }));
    }

    public Task HeartbeatAsync(WorkerHeartbeat heartbeat)
    {
        lock (gate) workers[heartbeat.WorkerId] = heartbeat;
        return Task.CompletedTask;
    }

    public Task RemoveWorkerAsync(string workerId)
    {
        lock (gate) workers.Remove(workerId);
        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<WorkerHeartbeat>> ListWorkersAsync(TimeSpan maxAge)
    {
        var now = DateTimeOffset.UtcNow;
        lock (gate)
            return Task.FromResult<IReadOnlyList<WorkerHeartbeat>>(workers.Values.Where(w => now - w.At <= maxAge).OrderBy(w => w.WorkerId, StringComparer.Ordinal).ToList());
    }

    private sealed class Subscription(Action dispose) : IAsyncDisposable
    {
        public ValueTask DisposeAsync()
        {
            dispose();
            return ValueTask.CompletedTask;
        }
    }
}

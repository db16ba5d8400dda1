using Farm.Shared.Contracts;

namespace Farm.Infrastructure.Progress;

/// <summary>A sweep as the live view knows it. Counts come from one atomic read, so they always add up.</summary>
public sealed record SweepSnapshot(
    string Id,
    string Model,
    long Total,
    long Jobs,
    int BatchSize,
    DateTimeOffset CreatedAt,
    DateTimeOffset? StartedAt,
    DateTimeOffset? FinishedAt,
    bool Cancelled,
    long PublishedJobs,
    long Completed,
    long Failed,
    long Running,
    double RunningFraction,
    string Tenant = SweepSnapshot.NoTenant)
{
    /// <summary>The tenant of sweeps recorded without one (before tenants, or with keys off): only admins see them.</summary>
    public const string NoTenant = "anonymous";

    public long Queued => Math.Max(0, Total - Completed - Failed - Running);

    public bool AllDone => Completed + Failed >= Total;

    /// <summary>queued|running|completed|failed|cancelled; a sweep with any failed image ends as failed.</summary>
    public string State => Cancelled ? "cancelled"
        : AllDone ? (Failed > 0 ? "failed" : "completed")
        : Completed + Failed + Running > 0 || StartedAt is not null ? "running"
        : "queued";

    /// <summary>Fraction done in [0, 1], counting the steps of images rendering now.</summary>
    public double Progress => Total == 0 ? 1 : Math.Clamp((Completed + Failed + RunningFraction) / Total, 0, 1);
}

/// <summary>What <see cref="IProgressStore.CompleteImagesAsync"/> and <see cref="IProgressStore.FailImagesAsync"/> did.</summary>
public readonly record struct CountResult(int NewlyCounted, bool SweepFinished);

/// <summary>
/// The live view (Redis in deployment, memory in the embedded default); layout in <see cref="Farm.Shared.Layout.ProgressKeys"/>.
/// Counting is idempotent per image index: a redelivered job never counts twice.
/// </summary>
public interface IProgressStore
{
    Task CreateSweepAsync(string id, string model, long total, long jobs, int batchSize, DateTimeOffset createdAt, string tenant = SweepSnapshot.NoTenant);
    Task<SweepSnapshot?> GetSweepAsync(string id);
    /// <summary>Newest first.</summary>
    Task<IReadOnlyList<string>> ListSweepIdsAsync(int limit);
    /// <summary>The tenant's sweeps, newest first.</summary>
    Task<IReadOnlyList<string>> ListTenantSweepIdsAsync(string tenant, int limit);
    /// <summary>Stores <paramref name="value"/> under the key unless one is there; returns the value that was there, or null.</summary>
    Task<string?> ClaimIdempotencyKeyAsync(string key, string value);
    Task SetPublishedJobsAsync(string id, long publishedJobs);
    /// <summary>Marks the sweep cancelled; false when there is no such sweep.</summary>
    Task<bool> CancelAsync(string id, DateTimeOffset at);
    Task<bool> IsCancelledAsync(string id);

    /// <summary>
    /// Marks the job running unless its sweep is cancelled, in one atomic step, so no render starts after a cancel;
    /// false when cancelled (nothing is marked).
    /// </summary>
    Task<bool> JobStartedAsync(string sweepId, long jobIndex, int images, string worker, DateTimeOffset at);
    Task StepAsync(string sweepId, long jobIndex, int images, int step, int totalSteps, string worker);
    Task<CountResult> CompleteImagesAsync(string sweepId, long jobIndex, IReadOnlyList<long> indices, string worker, DateTimeOffset at);
    Task<CountResult> FailImagesAsync(string sweepId, long jobIndex, IReadOnlyList<long> indices, string error, string worker, DateTimeOffset at);
    /// <summary>The job no longer renders (cancelled, or it will be retried) and nothing was counted.</summary>
    Task JobStoppedAsync(string sweepId, long jobIndex, string state);
    /// <summary>completed, failed or queued for each index (running images read as queued here).</summary>
    Task<IReadOnlyList<string>> GetImageStatesAsync(string sweepId, IReadOnlyList<long> indices);
    Task<string?> GetImageErrorAsync(string sweepId, long index);
    /// <summary>Indices of the jobs rendering now.</summary>
    Task<IReadOnlyList<long>> GetRunningJobsAsync(string sweepId);

    Task PublishAsync(SweepProgressed progress);
    Task<IAsyncDisposable> SubscribeAsync(string sweepId, Action<SweepProgressed> onProgress);

    Task HeartbeatAsync(WorkerHeartbeat heartbeat);
    /// <summary>Forgets a worker at once (a worker that stops cleanly), instead of letting its heartbeat age out.</summary>
    Task RemoveWorkerAsync(string workerId);
    /// <summary>Workers whose last heartbeat is younger than <paramref name="maxAge"/>.</summary>
    Task<IReadOnlyList<WorkerHeartbeat>> ListWorkersAsync(TimeSpan maxAge);
}

using Farm.Shared.Contracts;
using Farm.Shared.Sweeps;

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
    string Tenant = SweepSnapshot.NoTenant,
    int Priority = SweepPriority.Default,
    bool Paused = false,
    long PublishedImages = 0,
    string? FailedReason = null,
    long Cached = 0)
{
    /// <summary>The tenant of sweeps recorded without one (before tenants, or with keys off): only admins see them.</summary>
    public const string NoTenant = "anonymous";

    public long Queued => Math.Max(0, Total - Completed - Failed - Running);

    public bool AllDone => Completed + Failed >= Total;

    /// <summary>Cancelled or ended early: nothing more of it is published or rendered.</summary>
    public bool Stopped => Cancelled || FailedReason is not null;

    /// <summary>Images published and not yet counted: queued in the broker or rendering.</summary>
    public long InFlightImages => Math.Max(0, PublishedImages - Completed - Failed);

    /// <summary>
    /// queued|running|paused|completed|failed|cancelled; a sweep with any failed image ends as failed, and one ended
    /// early (<see cref="FailedReason"/>: too many failed images, every worker blocklisted) is failed at once.
    /// </summary>
    public string State => Cancelled ? "cancelled"
        : FailedReason is not null ? "failed"
        : AllDone ? (Failed > 0 ? "failed" : "completed")
        : Paused ? "paused"
        : Completed + Failed + Running > 0 || StartedAt is not null ? "running"
        : "queued";

    /// <summary>Fraction done in [0, 1], counting the steps of images rendering now.</summary>
    public double Progress => Total == 0 ? 1 : Math.Clamp((Completed + Failed + RunningFraction) / Total, 0, 1);
}

/// <summary>What <see cref="IProgressStore.RecordJobFailureAsync"/> did: how many workers have failed the job, and whether this one is now blocklisted.</summary>
public readonly record struct JobFailure(int WorkersFailedJob, bool Blocklisted);

/// <summary>
/// A sweep as the bucket knows it (its manifest and image records), for <see cref="IProgressStore.RestoreSweepAsync"/>:
/// <paramref name="Completed"/> are the indices with a record; the cursor is where publishing resumes.
/// </summary>
public sealed record RestoredSweep(
    string Id,
    string Model,
    long Total,
    long Jobs,
    int BatchSize,
    DateTimeOffset CreatedAt,
    string Tenant,
    int Priority,
    IReadOnlyList<long> Completed,
    long PublishedJobs,
    long PublishedImages,
    DateTimeOffset? FinishedAt,
    TimeSpan? FinishedTtl);

/// <summary>What <see cref="IProgressStore.CompleteImagesAsync"/> and <see cref="IProgressStore.FailImagesAsync"/> did.</summary>
public readonly record struct CountResult(int NewlyCounted, bool SweepFinished);

/// <summary>
/// The live view (Redis in deployment, memory in the embedded default); layout in <see cref="Farm.Shared.Layout.ProgressKeys"/>.
/// Counting is idempotent per image index: a redelivered job never counts twice.
/// </summary>
public interface IProgressStore
{
    /// <param name="finishedTtl">How long the sweep's live view is kept once it finished (completed, failed or cancelled); forever when null.</param>
    Task CreateSweepAsync(string id, string model, long total, long jobs, int batchSize, DateTimeOffset createdAt, string tenant = SweepSnapshot.NoTenant,
        TimeSpan? finishedTtl = null);
    /// <summary>
    /// Writes the sweep back as the bucket knows it, replacing what the live view holds of it (its counts, completed
    /// images, failed images, running jobs): for a sweep whose live view was lost or expired.
    /// </summary>
    Task RestoreSweepAsync(RestoredSweep sweep);
    Task<SweepSnapshot?> GetSweepAsync(string id);
    /// <summary>Newest first.</summary>
    Task<IReadOnlyList<string>> ListSweepIdsAsync(int limit);
    /// <summary>The tenant's sweeps, newest first.</summary>
    Task<IReadOnlyList<string>> ListTenantSweepIdsAsync(string tenant, int limit);
    /// <summary>
    /// Sweeps that may still need publishing or watching, oldest first; a sweep leaves the list when
    /// <see cref="CloseSweepAsync"/> is called for it (the publisher does, once it sees the sweep finished or gone).
    /// </summary>
    Task<IReadOnlyList<string>> ListOpenSweepIdsAsync(int limit);
    Task CloseSweepAsync(string id);
    /// <summary>Stores <paramref name="value"/> under the key unless one is there; returns the value that was there, or null.</summary>
    Task<string?> ClaimIdempotencyKeyAsync(string key, string value);
    /// <summary>The publishing cursor: how many jobs (in publish order) and how many images they hold are published.</summary>
    Task SetPublishedAsync(string id, long publishedJobs, long publishedImages);
    /// <summary>False when there is no such sweep.</summary>
    Task<bool> SetPriorityAsync(string id, int priority);
    /// <summary>A paused sweep publishes nothing more; false when there is no such sweep.</summary>
    Task<bool> SetPausedAsync(string id, bool paused);
    /// <summary>Marks the sweep cancelled; false when there is no such sweep.</summary>
    Task<bool> CancelAsync(string id, DateTimeOffset at);
    /// <summary>True when the sweep was cancelled or ended early (<see cref="FailSweepAsync"/>): its jobs are skipped.</summary>
    Task<bool> IsCancelledAsync(string id);

    /// <summary>Ends the sweep as failed before all its images are done, with the reason its status shows.</summary>
    Task FailSweepAsync(string id, string reason, DateTimeOffset at);
    /// <summary>
    /// Forgets the sweep's failed images (they count as queued again) and reopens a sweep that ended failed;
    /// returns their indices, in order, for the caller to publish again.
    /// </summary>
    Task<IReadOnlyList<long>> RequeueFailedAsync(string id);
    /// <summary>
    /// Records that the worker failed the job (again failing it counts once): the worker is blocklisted for the sweep
    /// once it has failed <paramref name="blocklistAfter"/> of its jobs.
    /// </summary>
    Task<JobFailure> RecordJobFailureAsync(string sweepId, long jobIndex, string worker, int blocklistAfter);
    /// <summary>True when the worker should not render the job: it is blocklisted for the sweep, or it failed this job before.</summary>
    Task<bool> IsBarredAsync(string sweepId, long jobIndex, string worker);
    Task<IReadOnlyList<string>> GetBlocklistAsync(string sweepId);
    /// <summary>Clears the running entries of jobs whose worker is not in <paramref name="liveWorkers"/>; returns how many.</summary>
    Task<int> ForgetJobsOfDeadWorkersAsync(string sweepId, IReadOnlySet<string> liveWorkers);

    /// <summary>
    /// Marks the job running unless its sweep is cancelled, in one atomic step, so no render starts after a cancel;
    /// false when cancelled or not known (expired, or lost and not rebuilt yet): nothing is marked.
    /// </summary>
    Task<bool> JobStartedAsync(string sweepId, long jobIndex, int images, string worker, DateTimeOffset at);
    Task StepAsync(string sweepId, long jobIndex, int images, int step, int totalSteps, string worker);
    /// <param name="cached">The images were copied from the render cache, not rendered: they count as completed and as cached.</param>
    Task<CountResult> CompleteImagesAsync(string sweepId, long jobIndex, IReadOnlyList<long> indices, string worker, DateTimeOffset at, bool cached = false);
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

    /// <summary>Folds a job's measured seconds per megapixel per step into the model's moving average.</summary>
    Task RecordRenderSpeedAsync(string model, double secondsPerMegapixelStep);
    /// <summary>The model's measured seconds per megapixel per step, or null before its first job.</summary>
    Task<double?> GetRenderSpeedAsync(string model);

    Task HeartbeatAsync(WorkerHeartbeat heartbeat);
    /// <summary>Forgets a worker at once (a worker that stops cleanly), instead of letting its heartbeat age out.</summary>
    Task RemoveWorkerAsync(string workerId);
    /// <summary>Workers whose last heartbeat is younger than <paramref name="maxAge"/>.</summary>
    Task<IReadOnlyList<WorkerHeartbeat>> ListWorkersAsync(TimeSpan maxAge);
}

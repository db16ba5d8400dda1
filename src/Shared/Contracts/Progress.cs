namespace Farm.Shared.Contracts;

/// <summary>Kinds of <see cref="SweepProgressed"/> events on a sweep's live channel.</summary>
public static class ProgressKinds
{
    public const string Step = "step";
    public const string ImageCompleted = "image-completed";
    public const string ImageFailed = "image-failed";
    public const string JobStarted = "job-started";
    public const string JobStopped = "job-stopped";
    public const string SweepFinished = "sweep-finished";
    public const string SweepCancelled = "sweep-cancelled";
}

/// <summary>One event on a sweep's live channel (Redis pub/sub JSON, and the SSE stream's data).</summary>
public sealed record SweepProgressed(
    string Kind,
    string SweepId,
    long? JobIndex = null,
    long? ImageIndex = null,
    int? Step = null,
    int? TotalSteps = null,
    string? Worker = null,
    string? Error = null);

/// <summary>
/// What a worker announces every few seconds; the coordinator lists these and learns the served models.
/// <see cref="Renderer"/> is what renders its images: <c>farm-engine</c>, or <c>simulated</c> for a test worker.
/// <see cref="ImagesPerMinute"/> is its rate over the last few minutes (see <c>WorkerSlot.ImagesPerMinute</c>).
/// </summary>
public sealed record WorkerHeartbeat(
    string WorkerId,
    string Host,
    string Device,
    IReadOnlyList<string> Models,
    long JobsDone,
    string? CurrentJob,
    DateTimeOffset StartedAt,
    DateTimeOffset At,
    IReadOnlyList<WorkerModel>? ModelDetails = null,
    string? Renderer = null,
    WorkerAdapters? Adapters = null,
    double? ImagesPerMinute = null);

/// <summary>
/// The LoRAs and embeddings a worker has (by file stem), so the coordinator refuses a sweep naming one no worker has.
/// Absent from the heartbeat of a worker that takes any name (the simulated renderer).
/// </summary>
public sealed record WorkerAdapters(IReadOnlyList<string> Loras, IReadOnlyList<string> Embeddings);

/// <summary>A model a worker serves: its family (sd1, sd2, sdxl) and the SHA-256 of its weights once computed.</summary>
public sealed record WorkerModel(string Name, string Family, string? Sha256);

/// <summary>
/// The per-image JSON record stored beside each PNG; the bucket's ledger entry for that image. <see cref="Identity"/> is the
/// image's content identity (the render cache's key; null when the job was not cached); <see cref="CachedFrom"/> the key of
/// the PNG it was copied from when the render cache served it (its worker and render time are then the original render's).
/// <see cref="Infotext"/> is the PNG's own AUTOMATIC1111 <c>parameters</c> text, so the gallery shows it without opening the PNG.
/// </summary>
public sealed record ImageRecord(
    string SweepId,
    long Index,
    string Id,
    string Key,
    string Model,
    string ModelHash,
    string EngineVersion,
    string Prompt,
    string NegativePrompt,
    long Seed,
    int Steps,
    double GuidanceScale,
    string Scheduler,
    int Width,
    int Height,
    long JobIndex,
    string Worker,
    double RenderSeconds,
    DateTimeOffset CompletedAt,
    int ClipSkip = 0,
    JobLora[]? Loras = null,
    string[]? Embeddings = null,
    string? InitAsset = null,
    string? MaskAsset = null,
    double? Strength = null,
    string? Identity = null,
    string? CachedFrom = null,
    string? Infotext = null);

using Farm.Shared.Sweeps;

namespace Farm.Coordinator;

/// <summary>Limits and pacing of sweeps (section <c>Sweeps</c>).</summary>
public sealed class CoordinatorOptions
{
    public const string Section = "Sweeps";

    public int MaxWidth { get; set; } = 1024;
    public int MaxHeight { get; set; } = 1024;
    public int MaxSteps { get; set; } = 150;
    public long MaxImages { get; set; } = 10_000_000;
    /// <summary>Seeds per job when the model has no entry in <see cref="BatchSizes"/>.</summary>
    public int DefaultBatchSize { get; set; } = 4;
    /// <summary>Seeds per job by model: what one worker renders as one UNet batch in seconds to minutes.</summary>
    public Dictionary<string, int> BatchSizes { get; set; } = new(StringComparer.Ordinal);
    /// <summary>
    /// Jobs published and not finished, per live pipeline of a model: the model's queue holds about what its workers
    /// can start next, so the dispatch policy (fair share, priority, age) decides the order, not the queue.
    /// </summary>
    public int QueuedPerPipeline { get; set; } = 2;
    /// <summary>Fair-share weight by tenant; tenants not listed weigh 1.</summary>
    public Dictionary<string, double> TenantWeights { get; set; } = new(StringComparer.Ordinal);
    /// <summary>A worker silent for longer is not listed and its models are not known.</summary>
    public TimeSpan WorkerTimeout { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// How long Redis keeps a finished (completed, failed or cancelled) sweep's live view; its ledger stays in the bucket,
    /// and <c>farm sweeps rebuild</c> brings the view back. Zero keeps it forever.
    /// </summary>
    public TimeSpan FinishedSweepTtl { get; set; } = TimeSpan.FromDays(7);

    /// <summary><see cref="FinishedSweepTtl"/> as the progress store takes it: null for forever.</summary>
    public TimeSpan? FinishedTtl => FinishedSweepTtl > TimeSpan.Zero ? FinishedSweepTtl : null;

    /// <summary>A sweep that does not set <c>maxFailedImages</c> ends failed once more than this many of its images failed.</summary>
    public long DefaultMaxFailedImages { get; set; } = 100;
    /// <summary>The most a spec may set <c>maxFailedImages</c> to.</summary>
    public long MaxFailedImagesCap { get; set; } = 100_000;

    /// <summary>The largest X/Y/Z grid image, in megapixels; a larger grid is split into pages (recorded in each manifest).</summary>
    public double GridMaxMegapixels { get; set; } = DefaultGridMaxMegapixels;
    public const double DefaultGridMaxMegapixels = 100;

    public long MaxFailedImages(SweepSpec spec) => spec.MaxFailedImages ?? DefaultMaxFailedImages;

    public int BatchSize(string model) => BatchSizes.TryGetValue(model, out var b) && b > 0 ? b : Math.Max(1, DefaultBatchSize);

    public SweepLimits Limits => new() { MaxWidth = MaxWidth, MaxHeight = MaxHeight, MaxSteps = MaxSteps, MaxImages = MaxImages, MaxFailedImagesCap = MaxFailedImagesCap };

    public IEnumerable<string> Validate()
    {
        if (MaxWidth < 8 || MaxHeight < 8) yield return "Sweeps:MaxWidth and MaxHeight must be ≥ 8";
        if (DefaultBatchSize < 1) yield return "Sweeps:DefaultBatchSize must be ≥ 1";
        if (QueuedPerPipeline < 1) yield return "Sweeps:QueuedPerPipeline must be ≥ 1";
        foreach (var (tenant, weight) in TenantWeights)
            if (!(weight > 0)) yield return $"Sweeps:TenantWeights:{tenant} must be > 0";
        if (FinishedSweepTtl < TimeSpan.Zero) yield return "Sweeps:FinishedSweepTtl must be ≥ 0 (0 keeps finished sweeps forever)";
        if (!(GridMaxMegapixels > 0)) yield return "Sweeps:GridMaxMegapixels must be > 0";
        if (MaxImages < 1) yield return "Sweeps:MaxImages must be ≥ 1";
        if (DefaultMaxFailedImages < 0 || DefaultMaxFailedImages > MaxFailedImagesCap)
            yield return "Sweeps:DefaultMaxFailedImages must be between 0 and Sweeps:MaxFailedImagesCap";
    }
}

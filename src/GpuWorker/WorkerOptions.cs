namespace Farm.GpuWorker;

/// <summary>How a worker runs: where its models are, on which device, and how many pipelines it keeps warm.</summary>
public sealed class WorkerOptions
{
    public const string Section = "Worker";

    public string ModelsDir { get; set; } = "models";
    public string Device { get; set; } = "cpu";
    /// <summary>Pipelines kept warm, each rendering one job at a time; the consumer's concurrency and prefetch.</summary>
    public int Slots { get; set; } = 1;
    /// <summary>Intra-op CPU threads per pipeline; null lets the engine choose.</summary>
    public int? Threads { get; set; }
    public string WorkerId { get; set; } = $"{Environment.MachineName}-{Environment.ProcessId}";
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(2);
    /// <summary>Quorum queue delivery limit: a message that crashed this many workers goes to the dead-letter queue.</summary>
    public int DeliveryLimit { get; set; } = 5;
    /// <summary>Retries in place, with backoff from <see cref="RetryFirstInterval"/> to 30 s, of a render that throws.</summary>
    public int Retries { get; set; } = 5;
    public TimeSpan RetryFirstInterval { get; set; } = TimeSpan.FromSeconds(1);
    /// <summary>A job that failed after its retries goes to another worker, until this many different workers failed it.</summary>
    public int SoftFailWorkers { get; set; } = 3;
    /// <summary>After this many failed jobs of one sweep, a worker hands that sweep's jobs back instead of rendering them.</summary>
    public int BlocklistAfter { get; set; } = 3;
    /// <summary>How long a blocklisted worker holds a job before handing it back, so another worker gets it.</summary>
    public TimeSpan BlocklistHandBackDelay { get; set; } = TimeSpan.FromSeconds(1);
    /// <summary>
    /// <c>Worker:DrainSeconds</c>: how long a stopping worker lets a job in progress finish before handing it back at
    /// its next step (republished whole, so another worker renders it; no failure, no delivery counted).
    /// </summary>
    public int DrainSeconds { get; set; } = 30;
    /// <summary><c>--renderer</c>: <c>engine</c> (the default), or <c>simulated[:MS_PER_STEP]</c> for farm tests and benchmarks.</summary>
    public string Renderer { get; set; } = Rendering.RendererSpec.Engine;
    /// <summary><c>--models-served</c>: the model names a simulated worker serves (the engine serves the models in <see cref="ModelsDir"/>).</summary>
    public IReadOnlyList<string> ModelsServed { get; set; } = [];
    /// <summary><c>--fault KIND=SEED</c>, for tests: see <see cref="Rendering.RenderFault"/>.</summary>
    public IReadOnlyList<string> Faults { get; set; } = [];
    /// <summary>Also serve the bucket's models (<c>farm model push</c>), downloaded into <see cref="ModelCacheDir"/> on first use.</summary>
    public bool ModelsFromBucket { get; set; }
    public string ModelCacheDir { get; set; } = Path.Combine(".farm", "model-cache");
    public double CacheGigabytes { get; set; } = 50;
    /// <summary>Decoded init images and masks kept in memory (by asset id), as the jobs of an img2img sweep share them.</summary>
    public int CachedAssets { get; set; } = 16;
    /// <summary><c>--health-urls</c>: where the worker serves /healthz/live and /healthz/ready; none when empty.</summary>
    public string? HealthUrls { get; set; }

    /// <summary>Reads <c>Worker:DrainSeconds</c> (FARM_WORKER_DRAIN_SECONDS): whole seconds, 0 to 3600.</summary>
    public static int DrainSecondsFrom(string? text, int fallback)
    {
        if (string.IsNullOrWhiteSpace(text)) return fallback;
        if (!int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var seconds) || seconds > 3600)
            throw new ArgumentException($"Worker:DrainSeconds (FARM_WORKER_DRAIN_SECONDS) must be whole seconds from 0 to 3600, got '{text}'");
        return seconds;
    }

    /// <summary>Takes the failure handling from configuration (section <c>Worker</c>): the flags do not cover it.</summary>
    public void UseFailureSettings(WorkerOptions configured)
    {
        if (configured.Retries < 0 || configured.SoftFailWorkers < 1 || configured.BlocklistAfter < 1 || configured.DeliveryLimit < 1)
            throw new ArgumentException("Worker:Retries must be ≥ 0, and Worker:SoftFailWorkers, Worker:BlocklistAfter and Worker:DeliveryLimit ≥ 1");
        (Retries, RetryFirstInterval, SoftFailWorkers, BlocklistAfter, DeliveryLimit) =
            (configured.Retries, configured.RetryFirstInterval, configured.SoftFailWorkers, configured.BlocklistAfter, configured.DeliveryLimit);
    }
}

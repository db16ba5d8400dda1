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
}

namespace Farm.Coordinator.Telemetry;

/// <summary><c>Metrics:*</c>: how often the coordinator reads the farm's state for its gauges, and over how many sweeps.</summary>
public sealed class MetricsOptions
{
    public const string Section = "Metrics";

    public TimeSpan SampleInterval { get; set; } = TimeSpan.FromSeconds(5);
    /// <summary>The newest sweeps counted by <c>farm_sweeps</c> (the live view lists them newest first).</summary>
    public int SweepWindow { get; set; } = 1000;
}

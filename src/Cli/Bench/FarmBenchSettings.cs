namespace Farm.Cli.Bench;

/// <summary>What <c>farm bench farm</c> was asked to run.</summary>
internal sealed record FarmBenchSettings(
    int Workers,
    int Images,
    int StepMs,
    int Steps,
    int Pollers,
    int QueuedPerPipeline,
    int BatchSize,
    int ProbePuts,
    bool Keep);

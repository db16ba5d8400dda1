namespace Farm.Cli.Chaos;

/// <summary>What <c>farm chaos</c> was asked to run.</summary>
internal sealed record ChaosSettings(
    int Images,
    int Workers,
    int StepMs,
    int Steps,
    IReadOnlyList<string> Scenarios,
    TimeSpan S3Down,
    TimeSpan WorkerKillEvery,
    TimeSpan SweepLimit,
    string ServicesDirectory,
    bool Keep);

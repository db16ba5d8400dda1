namespace Farm.Cli.Chaos;

/// <summary>One fault (or several, one after the other) done to the farm while a sweep runs.</summary>
internal sealed record ChaosScenario(string Name, string Description, Func<ChaosContext, CancellationToken, Task> Disrupt);

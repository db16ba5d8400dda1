namespace Farm.Cli.Chaos;

/// <summary>One fault (or several, one after the other) done to the farm while a sweep runs.</summary>
/// <param name="NeedsCluster">Runs only on a services set with several RabbitMQ nodes (<c>./farm services start --rabbit-nodes 3</c>).</param>
internal sealed record ChaosScenario(string Name, string Description, Func<ChaosContext, CancellationToken, Task> Disrupt, bool NeedsCluster = false);

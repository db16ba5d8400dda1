using Farm.Infrastructure.Hosting;

namespace Farm.Cli.Commands;

/// <summary>`farm coordinator [--urls http://0.0.0.0:8080]`: the HTTP API, sweep expansion and status page.</summary>
internal static class CoordinatorCommand
{
    public static async Task<int> RunAsync(CliArgs args, CancellationToken cancellation)
    {
        var urls = args.String("urls") ?? Environment.GetEnvironmentVariable("FARM_COORDINATOR_URLS") ?? "http://127.0.0.1:8080";
        args.EnsureAllUsed();
        var app = FarmHosting.BuildCoordinator(urls.Split(';', StringSplitOptions.RemoveEmptyEntries));
        await app.StartAsync(cancellation);
        Console.WriteLine($"coordinator listening on {string.Join(", ", app.Urls)} (status page at /, OpenAPI at /openapi/v1.json)");
        await GracefulStop.RunUntilStoppedAsync(app, Farm.Coordinator.CoordinatorHosting.StopBudget, cancellation);
        return 0;
    }
}

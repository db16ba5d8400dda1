using System.CommandLine;
using Farm.Cli.Parsing;
using Farm.Infrastructure.Hosting;

namespace Farm.Cli.Commands;

/// <summary>`farm coordinator [--urls http://0.0.0.0:8080]`: the HTTP API, sweep expansion and web gallery.</summary>
internal static class CoordinatorCommand
{
    public static Command Create()
    {
        var urlsOption = FarmOptions.Text("--urls", "where to listen, ';'-separated (else FARM_COORDINATOR_URLS)", "URLS",
            Environment.GetEnvironmentVariable("FARM_COORDINATOR_URLS") ?? "http://127.0.0.1:8080");
        var verbose = FarmOptions.Verbose();
        var logFormat = FarmOptions.LogFormat();
        var command = new Command("coordinator", "run the coordinator: HTTP API, sweep expansion, web gallery") { urlsOption, verbose, logFormat };
        command.SetAction((parse, cancellation) =>
            RunAsync(parse.GetValue(urlsOption)!, parse.GetValue(verbose), parse.GetValue(logFormat) == "json", cancellation));
        return command;
    }

    private static async Task<int> RunAsync(string urls, bool verbose, bool jsonLogs, CancellationToken cancellation)
    {
        var app = FarmHosting.BuildCoordinator(urls.Split(';', StringSplitOptions.RemoveEmptyEntries), verbose: verbose, jsonLogs: jsonLogs);
        try
        {
            await app.StartAsync(cancellation);
        }
        catch (Farm.Coordinator.Tenancy.OpenAccessRefusedException e)
        {
            await app.DisposeAsync();
            throw new UsageException(e.Message);
        }
        Console.WriteLine($"coordinator listening on {string.Join(", ", app.Urls)} (web gallery at /, OpenAPI at /openapi/v1.json)");
        await GracefulStop.RunUntilStoppedAsync(app, Farm.Coordinator.CoordinatorHosting.StopBudget, cancellation);
        return 0;
    }
}

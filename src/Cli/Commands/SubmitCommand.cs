using System.CommandLine;
using System.Text.Json;
using Farm.Shared.Contracts;
using Farm.Cli.Parsing;

namespace Farm.Cli.Commands;

/// <summary>`farm submit FILE [--watch] [--idempotency-key KEY] [--coordinator URL] [--api-key KEY] [--json]`: submits a JSON or YAML sweep spec.</summary>
internal static class SubmitCommand
{
    public static Command Create()
    {
        var fileArgument = new Argument<string>("file") { Description = "the sweep spec file (JSON or YAML)" };
        var watchOption = FarmOptions.Flag("--watch", "draw a progress bar until the sweep ends; exit 1 unless it completed");
        var keyOption = FarmOptions.Text("--idempotency-key", "submitting again with the same key returns the same sweep", "KEY");
        var coordinator = FarmOptions.Coordinator();
        var apiKey = FarmOptions.ApiKey();
        var jsonOption = FarmOptions.Flag("--json", "print the accepted sweep (with --watch: its final status) as JSON, no progress bar");
        var command = new Command("submit", "submit a sweep spec to the coordinator") { fileArgument, watchOption, keyOption, coordinator, apiKey, jsonOption };
        command.SetAction((parse, cancellation) =>
            RunAsync(parse.GetValue(fileArgument)!, parse.GetValue(watchOption), parse.GetValue(keyOption), parse.GetValue(coordinator), parse.GetValue(apiKey), parse.GetValue(jsonOption), cancellation));
        return command;
    }

    private static async Task<int> RunAsync(string file, bool watch, string? key, string? coordinator, string? apiKey, bool json, CancellationToken cancellation)
    {
        using var client = FarmClient.From(coordinator, apiKey);
        if (!File.Exists(file)) throw new UsageException($"no such file: {file}");
        var spec = await LocalAssets.UploadAsync(await File.ReadAllTextAsync(file, cancellation), file, client, cancellation);
        var accepted = await client.SubmitAsync(spec, key, cancellation);
        if (!json) Console.WriteLine($"sweep {accepted.Id}: {accepted.Images} images in {accepted.Jobs} jobs");
        else if (!watch) Console.WriteLine(JsonSerializer.Serialize(accepted, FarmJson.Options));
        if (!watch) return 0;
        var status = await client.WatchAsync(accepted.Id, cancellation, drawProgress: !json);
        Console.WriteLine(json
            ? JsonSerializer.Serialize(status, FarmJson.Options)
            : $"sweep {status.Id} {status.State}: {status.Images.Completed} completed, {status.Images.Failed} failed");
        return status.State == "completed" ? 0 : 1;
    }
}

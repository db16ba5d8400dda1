using System.CommandLine;
using System.Text.Json;
using Farm.Shared.Contracts;
using Farm.Cli.Parsing;

namespace Farm.Cli.Commands;

/// <summary>`farm status ID [--coordinator URL] [--api-key KEY] [--json]`.</summary>
internal static class StatusCommand
{
    public static Command Create()
    {
        var idArgument = new Argument<string>("id") { Description = "the sweep id" };
        var coordinator = FarmOptions.Coordinator();
        var apiKey = FarmOptions.ApiKey();
        var json = FarmOptions.Flag("--json", "print the API's status document as JSON, for scripts");
        var command = new Command("status", "show a sweep's state and image counts") { idArgument, coordinator, apiKey, json };
        command.SetAction((parse, cancellation) => RunAsync(parse.GetValue(idArgument)!, parse.GetValue(coordinator), parse.GetValue(apiKey), parse.GetValue(json), cancellation));
        return command;
    }

    private static async Task<int> RunAsync(string id, string? coordinator, string? apiKey, bool json, CancellationToken cancellation)
    {
        using var client = FarmClient.From(coordinator, apiKey);
        var s = await client.StatusAsync(id, cancellation);
        if (json)
        {
            Console.WriteLine(JsonSerializer.Serialize(s, FarmJson.Options));
            return 0;
        }
        Console.WriteLine($"sweep {s.Id} ({s.Model}): {s.State}, {s.Progress:P1}, priority {s.Priority}");
        if (s.Reason is { } reason) Console.WriteLine($"  why: {reason}");
        if (s.BlocklistedWorkers is { Count: > 0 } blocklisted) Console.WriteLine($"  blocklisted workers: {string.Join(", ", blocklisted)}");
        Console.WriteLine($"  images: {s.Images.Total} total, {s.Images.Completed} completed{(s.Images.Cached > 0 ? $" ({s.Images.Cached} from the render cache)" : "")}, {s.Images.Running} running, {s.Images.Queued} queued, {s.Images.Failed} failed");
        Console.WriteLine($"  created {s.CreatedAt:u}" + (s.FinishedAt is { } f ? $", finished {f:u}" : "") + (s.EtaSeconds is { } eta ? $", eta {eta:F0}s" : ""));
        return 0;
    }
}

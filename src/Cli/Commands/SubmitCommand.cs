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
        var dryRunOption = FarmOptions.Flag("--dry-run", "validate and estimate (images and jobs per model, render time, ETA, bucket bytes); create nothing");
        var command = new Command("submit", "submit a sweep spec to the coordinator") { fileArgument, watchOption, keyOption, coordinator, apiKey, jsonOption, dryRunOption };
        command.SetAction((parse, cancellation) => parse.GetValue(dryRunOption)
            ? DryRunAsync(parse.GetValue(fileArgument)!, parse.GetValue(coordinator), parse.GetValue(apiKey), parse.GetValue(jsonOption), cancellation)
            : RunAsync(parse.GetValue(fileArgument)!, parse.GetValue(watchOption), parse.GetValue(keyOption), parse.GetValue(coordinator), parse.GetValue(apiKey), parse.GetValue(jsonOption), cancellation));
        return command;
    }

    private static async Task<int> DryRunAsync(string file, string? coordinator, string? apiKey, bool json, CancellationToken cancellation)
    {
        using var client = FarmClient.From(coordinator, apiKey);
        if (!File.Exists(file)) throw new UsageException($"no such file: {file}");
        var e = await client.DryRunAsync(await File.ReadAllTextAsync(file, cancellation), cancellation);
        if (json)
        {
            Console.WriteLine(JsonSerializer.Serialize(e, FarmJson.Options));
            return 0;
        }
        Console.WriteLine($"dry run, nothing created: {e.Images} images in {e.Jobs} jobs"
            + (e.RenderSeconds is { } r ? $", about {Duration(r)} of rendering" : "") + (e.EtaSeconds is { } eta ? $", done in about {Duration(eta)} with the workers alive now" : ""));
        foreach (var m in e.Models)
            Console.WriteLine($"  {m.Model}: {m.Images} images, {m.Jobs} jobs, {m.MegapixelSteps:0.###} megapixel-steps"
                + (m.RenderSeconds is { } s ? $", {Duration(s)} at {m.SecondsPerMegapixelStep:0.####} s per megapixel-step" : "") + $", {m.Pipelines} live pipeline{(m.Pipelines == 1 ? "" : "s")}");
        Console.WriteLine($"  bucket: at most {e.BucketBytesAtMost / 1e6:0.#} MB");
        foreach (var note in e.Notes) Console.WriteLine($"  {note}");
        return 0;
    }

    private static string Duration(double seconds) => TimeSpan.FromSeconds(Math.Round(seconds)) switch
    {
        var t when t.TotalHours >= 1 => $"{(int)t.TotalHours} h {t.Minutes} min",
        var t when t.TotalMinutes >= 1 => $"{t.Minutes} min {t.Seconds} s",
        var t => $"{t.Seconds} s",
    };

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

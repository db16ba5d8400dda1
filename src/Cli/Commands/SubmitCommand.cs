namespace Farm.Cli.Commands;

/// <summary>`farm submit FILE [--watch] [--idempotency-key KEY] [--coordinator URL]`: submits a JSON or YAML sweep spec.</summary>
internal static class SubmitCommand
{
    public static async Task<int> RunAsync(CliArgs args, CancellationToken cancellation)
    {
        var file = args.Positional(0, "the sweep spec file (JSON or YAML)");
        var watch = args.Flag("watch");
        var key = args.String("idempotency-key");
        using var client = FarmClient.From(args);
        args.EnsureAllUsed();
        if (!File.Exists(file)) throw new UsageException($"no such file: {file}");
        var accepted = await client.SubmitAsync(await File.ReadAllTextAsync(file, cancellation), key, cancellation);
        Console.WriteLine($"sweep {accepted.Id}: {accepted.Images} images in {accepted.Jobs} jobs");
        if (!watch) return 0;
        var status = await client.WatchAsync(accepted.Id, cancellation);
        Console.WriteLine($"sweep {status.Id} {status.State}: {status.Images.Completed} completed, {status.Images.Failed} failed");
        return status.State == "completed" ? 0 : 1;
    }
}

namespace Farm.Cli.Commands;

/// <summary>`farm status ID [--coordinator URL]`.</summary>
internal static class StatusCommand
{
    public static async Task<int> RunAsync(CliArgs args, CancellationToken cancellation)
    {
        var id = args.Positional(0, "the sweep id");
        using var client = FarmClient.From(args);
        args.EnsureAllUsed();
        var s = await client.StatusAsync(id, cancellation);
        Console.WriteLine($"sweep {s.Id} ({s.Model}): {s.State}, {s.Progress:P1}");
        Console.WriteLine($"  images: {s.Images.Total} total, {s.Images.Completed} completed, {s.Images.Running} running, {s.Images.Queued} queued, {s.Images.Failed} failed");
        Console.WriteLine($"  created {s.CreatedAt:u}" + (s.FinishedAt is { } f ? $", finished {f:u}" : "") + (s.EtaSeconds is { } eta ? $", eta {eta:F0}s" : ""));
        return 0;
    }
}

namespace Farm.Cli.Commands;

internal static class StatusCommand
{
    public static Task<int> RunAsync(CliArgs args, CancellationToken cancellation) =>
        throw new UsageException("not available yet in this build");
}

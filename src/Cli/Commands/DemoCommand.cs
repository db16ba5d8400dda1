namespace Farm.Cli.Commands;

internal static class DemoCommand
{
    public static Task<int> RunAsync(CliArgs args, CancellationToken cancellation) =>
        throw new UsageException("not available yet in this build");
}

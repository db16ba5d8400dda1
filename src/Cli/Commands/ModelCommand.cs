namespace Farm.Cli.Commands;

internal static class ModelCommand
{
    public static Task<int> RunAsync(CliArgs args, CancellationToken cancellation) =>
        throw new UsageException("not available yet in this build");
}

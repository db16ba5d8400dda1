using System.CommandLine;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Farm.Cli.Bench;
using Farm.Cli.Parsing;
using Farm.Infrastructure;
using Microsoft.Extensions.Configuration;

namespace Farm.Cli.Commands;

/// <summary>
/// `farm bench farm [--workers N] [--images M] [--step-ms X] [--steps S] [--pollers P]`: the farm apart from rendering,
/// on the running services (<c>./farm services start</c>): a coordinator and N simulated workers as child processes,
/// one sweep of M images. The last line is machine-readable:
/// <c>images_per_s=… overhead_ms=… coordinator_mb=… redis_mb=… status_p99_ms=… images=… …</c>.
/// </summary>
internal static class FarmBenchCommand
{
    private static readonly Option<int> WorkersOption = FarmOptions.Int("--workers", "simulated worker processes", 4, min: 1, max: 256);
    private static readonly Option<int> ImagesOption = FarmOptions.Int("--images", "images in the sweep", 1000, min: 1, max: 10_000_000);
    private static readonly Option<int> StepMsOption = FarmOptions.Int("--step-ms", "simulated render time per step, in ms", 0, min: 0, max: 600_000);
    private static readonly Option<int> StepsOption = FarmOptions.Int("--steps", "steps per image", 1, min: 1, max: 150);
    private static readonly Option<int> PollersOption = FarmOptions.Int("--pollers", "clients polling the sweep's status, each every 100 ms", 10, min: 0, max: 1000);
    private static readonly Option<int> QueuedOption = FarmOptions.Int("--queued-per-pipeline", "the coordinator's Sweeps:QueuedPerPipeline (jobs in flight per worker)", 16, min: 1, max: 10_000);
    private static readonly Option<int> BatchOption = FarmOptions.Int("--batch", "images per job (the coordinator's Sweeps:DefaultBatchSize)", 4, min: 1, max: 64);
    private static readonly Option<int> ProbeOption = FarmOptions.Int("--probe-puts", "signed 12 KB PUTs timed on the bucket alone first (0: none)", 500, min: 0, max: 100_000);
    private static readonly Option<bool> FolderOption = FarmOptions.Flag("--folder-bucket", "a folder in the temp dir as the bucket instead of S3 (FARM_BUCKET_DIR): the broker and Redis are left");
    private static readonly Option<bool> KeepOption = FarmOptions.Flag("--keep", "keep the run's bucket and Redis keys (named in the output) instead of deleting them at the end");

    public static Command Create()
    {
        var command = new Command("farm", "time the farm itself on the running services with simulated workers (last line: images_per_s=… overhead_ms=… coordinator_mb=… redis_mb=… status_p99_ms=…)")
        {
            WorkersOption, ImagesOption, StepMsOption, StepsOption, PollersOption, QueuedOption, BatchOption, ProbeOption, FolderOption, KeepOption,
        };
        command.SetAction((parse, cancellation) => RunAsync(parse, cancellation));
        return command;
    }

    private static async Task<int> RunAsync(ParseResult args, CancellationToken cancellation)
    {
        var settings = new FarmBenchSettings(args.GetValue(WorkersOption), args.GetValue(ImagesOption), args.GetValue(StepMsOption), args.GetValue(StepsOption),
            args.GetValue(PollersOption), args.GetValue(QueuedOption), args.GetValue(BatchOption), args.GetValue(ProbeOption), args.GetValue(KeepOption));
        var configuration = new ConfigurationBuilder().AddFarmSettings().Build();
        var rabbit = FarmHosting.Bind<RabbitMqOptions>(configuration, RabbitMqOptions.Section);
        var redis = FarmHosting.Bind<RedisOptions>(configuration, RedisOptions.Section);
        var s3 = FarmHosting.Bind<S3Options>(configuration, S3Options.Section);
        using var resources = new BenchResources(Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4)), rabbit, redis, s3, args.GetValue(FolderOption));
        var run = new FarmBenchRun(settings, resources, rabbit, redis, s3);

        // Ctrl+C cancels the token (CommandLine); SIGTERM does the same here, so both end in the cleanup below.
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
        using var terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
        {
            context.Cancel = true;
            stop.Cancel();
        });
        // Whatever ends this process, the children end with it.
        EventHandler killChildren = (_, _) => run.KillChildren();
        AppDomain.CurrentDomain.ProcessExit += killChildren;
        try
        {
            return await run.RunAsync(stop.Token);
        }
        finally
        {
            await run.StopChildrenAsync();
            AppDomain.CurrentDomain.ProcessExit -= killChildren;
            using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(120));
            foreach (var problem in await resources.RemoveAsync(settings.Keep, limit.Token)) Console.Error.WriteLine($"farm bench farm: cleanup: {problem}");
        }
    }
}

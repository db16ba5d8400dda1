using System.CommandLine;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Farm.Cli.Bench;
using Farm.Cli.Chaos;
using Farm.Cli.Parsing;
using Farm.Infrastructure;
using Farm.Infrastructure.Messaging;
using Microsoft.Extensions.Configuration;

namespace Farm.Cli.Commands;

/// <summary>
/// `farm chaos [--images M] [--workers N] [--scenario NAME|all] [--step-ms X]`: faults done to the local services and the
/// farm's processes mid-sweep, with a verdict per scenario read from the bucket. It takes the services of one
/// <c>scripts/services.sh</c> set down and up again, so it needs that set's directory (<c>--services-dir</c>).
/// </summary>
internal static class ChaosCommand
{
    private static readonly Option<int> ImagesOption = FarmOptions.Int("--images", "images in each scenario's sweep", 2000, min: 10, max: 1_000_000);
    private static readonly Option<int> WorkersOption = FarmOptions.Int("--workers", "simulated worker processes", 4, min: 1, max: 64);
    private static readonly Option<string> ScenarioOption = FarmOptions.Text("--scenario", $"one of {string.Join(", ", ChaosScenarios.Names)}, or all", "NAME|all", "all");
    private static readonly Option<int> StepMsOption = FarmOptions.Int("--step-ms", "simulated render time per step, in ms", 10, min: 0, max: 60_000);
    private static readonly Option<int> StepsOption = FarmOptions.Int("--steps", "steps per image", 2, min: 1, max: 150);
    private static readonly Option<int> S3DownOption = FarmOptions.Int("--s3-down-s", "how long s3rver stays down in s3-down, in seconds", 30, min: 0, max: 3600);
    private static readonly Option<int> KillEveryOption = FarmOptions.Int("--kill-every-s", "worker-kill: seconds between two kill -9", 3, min: 1, max: 600);
    private static readonly Option<int> LimitOption = FarmOptions.Int("--sweep-limit-s", "a scenario fails when its sweep has not ended within this, in seconds", 600, min: 10, max: 86_400);
    private static readonly Option<string?> ServicesOption = FarmOptions.Text("--services-dir", "the services.sh set to take down and up (default: .farm/services, what ./farm services start starts)", "DIR");
    private static readonly Option<bool> KeepOption = FarmOptions.Flag("--keep", "keep the run's bucket and Redis keys (named in the output) instead of deleting them at the end");

    public static Command Create()
    {
        var command = new Command("chaos", "kill and restart workers, the coordinator, RabbitMQ, Redis and s3rver mid-sweep on the local services; a verdict per scenario, from the bucket (last line: chaos scenarios=… passed=… lost=… duplicated=…)")
        {
            ImagesOption, WorkersOption, ScenarioOption, StepMsOption, StepsOption, S3DownOption, KillEveryOption, LimitOption, ServicesOption, KeepOption,
        };
        command.SetAction((parse, cancellation) => RunAsync(parse, cancellation));
        return command;
    }

    private static async Task<int> RunAsync(ParseResult args, CancellationToken cancellation)
    {
        var scenario = args.GetValue(ScenarioOption)!;
        if (scenario != "all" && !ChaosScenarios.Names.Contains(scenario))
            throw new UsageException($"--scenario: no scenario '{scenario}'; use one of {string.Join(", ", ChaosScenarios.Names)}, or all");
        var root = Environment.GetEnvironmentVariable("FARM_ROOT") is { Length: > 0 } r ? r : Directory.GetCurrentDirectory();
        var services = new ServiceSet(Path.GetFullPath(args.GetValue(ServicesOption) ?? Path.Combine(root, ".farm", "services")));
        if (!services.Exists)
            throw new UsageException($"--services-dir: no running services set in {services.Directory} (start one with ./farm services start)");
        var configuration = new ConfigurationBuilder().AddFarmSettings().Build();
        var rabbit = FarmHosting.Bind<RabbitMqOptions>(configuration, RabbitMqOptions.Section);
        var redis = FarmHosting.Bind<RedisOptions>(configuration, RedisOptions.Section);
        var s3 = FarmHosting.Bind<S3Options>(configuration, S3Options.Section);
        var cluster = RabbitMqNodes.Parse(rabbit.Url).Count > 1;
        if (ChaosScenarios.All.FirstOrDefault(c => c.Name == scenario) is { NeedsCluster: true } && !cluster)
            throw new UsageException($"--scenario: {scenario} needs a RabbitMQ cluster (./farm services start --rabbit-nodes 3); FARM_RABBITMQ_URL names one node");
        List<string> scenarios = scenario == "all" ? ChaosScenarios.All.Where(c => cluster || !c.NeedsCluster).Select(c => c.Name).ToList() : [scenario];
        var settings = new ChaosSettings(args.GetValue(ImagesOption), args.GetValue(WorkersOption), args.GetValue(StepMsOption), args.GetValue(StepsOption),
            scenarios, TimeSpan.FromSeconds(args.GetValue(S3DownOption)), TimeSpan.FromSeconds(args.GetValue(KillEveryOption)),
            TimeSpan.FromSeconds(args.GetValue(LimitOption)), services.Directory, args.GetValue(KeepOption));
        using var resources = new BenchResources(Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4)), rabbit, redis, s3, folderBucket: false, stem: "chaos");
        var processes = new FarmProcesses(resources, rabbit, redis, s3, CoordinatorSettings(settings));
        var run = new ChaosRun(settings, resources, processes, services);

        // Ctrl+C cancels the token (CommandLine); SIGTERM does the same here, so both end in the cleanup below.
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
        using var terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
        {
            context.Cancel = true;
            stop.Cancel();
        });
        EventHandler killChildren = (_, _) => processes.KillAll();
        AppDomain.CurrentDomain.ProcessExit += killChildren;
        try
        {
            return await run.RunAsync(stop.Token);
        }
        finally
        {
            await processes.StopAsync();
            AppDomain.CurrentDomain.ProcessExit -= killChildren;
            using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(120));
            // Whatever a fault left down comes back before the cleanup needs it.
            try
            {
                await services.StartAsync(limit.Token);
            }
            catch (Exception e) when (e is InvalidOperationException or OperationCanceledException)
            {
                Console.Error.WriteLine($"farm chaos: cleanup: {e.Message}");
            }
            foreach (var problem in await resources.RemoveAsync(settings.Keep, limit.Token)) Console.Error.WriteLine($"farm chaos: cleanup: {problem}");
            if (settings.Keep) Console.WriteLine($"  kept after the run (--keep): bucket {resources.Bucket}, redis keys {resources.RedisPrefix}*");
        }
    }

    private static Dictionary<string, string> CoordinatorSettings(ChaosSettings settings) => new()
    {
        // On loopback, for the run alone: no keys, no per-tenant limits.
        ["FARM_AUTH"] = "off",
        ["FARM_TENANT_REQUESTS_PER_SECOND"] = "1000000",
        ["FARM_TENANT_MAX_QUEUED_IMAGES"] = Math.Max(settings.Images, 1_000_000).ToString(CultureInfo.InvariantCulture),
        ["Sweeps__MaxImages"] = Math.Max(settings.Images, 10_000_000).ToString(CultureInfo.InvariantCulture),
    };
}

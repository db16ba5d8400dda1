using System.CommandLine;
using Farm.Cli.Parsing;
using Farm.GpuWorker;
using Farm.GpuWorker.Progress;
using Farm.GpuWorker.Rendering;
using Farm.Infrastructure.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Farm.Cli.Commands;

/// <summary>
/// `farm worker [--models DIR] [--device cpu|cuda] [--slots N] [--threads N] [--id NAME] [--health-urls http://127.0.0.1:8081]`: renders jobs
/// of the models in DIR; `--renderer simulated[:MS] --models-served a,b [--fault KIND=SEED]…` is the test worker.
/// </summary>
internal static class WorkerCommand
{
    public static Command Create()
    {
        var models = FarmOptions.Text("--models", "the models folder (else FARM_MODELS)", "DIR", Environment.GetEnvironmentVariable("FARM_MODELS") ?? "models");
        var device = FarmOptions.Text("--device", "cpu or cuda[:N]", "DEVICE", "cpu");
        var slots = FarmOptions.Int("--slots", "warm pipelines, jobs rendered at once", 1, min: 1, max: 16);
        var threads = FarmOptions.Int("--threads", "CPU threads per pipeline (0: libtorch's choice)", 0, min: 0);
        var id = FarmOptions.Text("--id", "the worker id in heartbeats and status (default: host name and process id)", "NAME");
        var healthUrls = FarmOptions.Text("--health-urls", "serve /healthz/live, /healthz/ready and /metrics here (else FARM_WORKER_HEALTH_URLS; default: none)", "URLS");
        var renderer = FarmOptions.Text("--renderer", "engine, or simulated[:MS_PER_STEP] for farm tests and benchmarks (no model files; its images say renderer simulated)", "RENDERER", RendererSpec.Engine);
        var served = FarmOptions.Text("--models-served", "with --renderer simulated: the model names it serves, comma-separated", "NAMES");
        var faults = FarmOptions.Repeated("--fault", "for tests: crash-on-seed=N (the process dies), fail-on-seed=N (the job fails), hang-on-seed=N (the render blocks until cancelled); repeatable", "KIND=SEED");
        var fromBucket = FarmOptions.Flag("--models-from-bucket", "also serve the models pushed to the bucket (./farm model push), downloaded and verified on first use");
        var cacheDir = FarmOptions.Text("--model-cache", "where bucket models are kept", "DIR", Path.Combine(".farm", "model-cache"));
        var cacheGb = FarmOptions.Double("--cache-gb", "the most the model cache holds; least recently used models go first", 50);
        var verbose = FarmOptions.Verbose();
        var logFormat = FarmOptions.LogFormat();
        var command = new Command("worker", "run a render worker for the models in --models") { models, device, slots, threads, id, healthUrls, renderer, served, faults, fromBucket, cacheDir, cacheGb, verbose, logFormat };
        command.SetAction((parse, cancellation) =>
        {
            var options = new WorkerOptions { ModelsDir = parse.GetValue(models)!, Device = parse.GetValue(device)!, Slots = parse.GetValue(slots) };
            if (parse.GetValue(threads) is > 0 and var n) options.Threads = n;
            if (parse.GetValue(id) is { } name) options.WorkerId = name;
            options.HealthUrls = parse.GetValue(healthUrls) ?? Environment.GetEnvironmentVariable("FARM_WORKER_HEALTH_URLS");
            options.Renderer = parse.GetValue(renderer)!;
            options.ModelsServed = (parse.GetValue(served) ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            options.Faults = parse.GetValue(faults)!;
            (options.ModelsFromBucket, options.ModelCacheDir, options.CacheGigabytes) = (parse.GetValue(fromBucket), parse.GetValue(cacheDir)!, parse.GetValue(cacheGb));
            return RunAsync(options, parse.GetValue(verbose), parse.GetValue(logFormat) == "json", cancellation);
        });
        return command;
    }

    private static async Task<int> RunAsync(WorkerOptions options, bool verbose, bool jsonLogs, CancellationToken cancellation)
    {
        if (options.Device is not ("cpu" or "cuda") && !options.Device.StartsWith("cuda:", StringComparison.Ordinal))
            throw new UsageException($"--device must be cpu or cuda, got '{options.Device}'");

        var host = FarmHosting.BuildWorker(options, null, verbose, jsonLogs);
        try
        {
            await host.StartAsync(cancellation);
        }
        catch (OperationCanceledException) when (host.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping.IsCancellationRequested
                                                   || cancellation.IsCancellationRequested)
        {
            Console.WriteLine("stopped before the broker answered");
            return 0;
        }
        host.Services.GetRequiredService<HeartbeatService>().Beat();
        var slots = host.Services.GetRequiredService<Farm.GpuWorker.Rendering.WorkerSlots>();
        Console.WriteLine($"worker {options.WorkerId} serving {string.Join(", ", slots.Models)} on {options.Device} ({options.Slots} pipeline(s), renderer {slots.Factory.Renderer})");
        await GracefulStop.RunUntilStoppedAsync(host, WorkerHosting.StopBudget(options), cancellation);
        return 0;
    }
}

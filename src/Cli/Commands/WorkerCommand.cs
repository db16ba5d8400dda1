using Farm.GpuWorker;
using Farm.GpuWorker.Progress;
using Farm.Infrastructure.Hosting;
using Microsoft.Extensions.DependencyInjection;

namespace Farm.Cli.Commands;

/// <summary>`farm worker [--models DIR] [--device cpu|cuda] [--slots N] [--threads N] [--id NAME] [--health-urls http://127.0.0.1:8081]`: renders jobs of the models in DIR.</summary>
internal static class WorkerCommand
{
    public static async Task<int> RunAsync(CliArgs args, CancellationToken cancellation)
    {
        var options = new WorkerOptions
        {
            ModelsDir = args.String("models") ?? Environment.GetEnvironmentVariable("FARM_MODELS") ?? "models",
            Device = args.String("device") ?? "cpu",
            Slots = args.Int("slots", 1, min: 1, max: 16),
        };
        var threads = args.Int("threads", 0, min: 0);
        if (threads > 0) options.Threads = threads;
        if (args.String("id") is { } id) options.WorkerId = id;
        options.HealthUrls = args.String("health-urls") ?? Environment.GetEnvironmentVariable("FARM_WORKER_HEALTH_URLS");
        args.EnsureAllUsed();
        if (options.Device is not ("cpu" or "cuda") && !options.Device.StartsWith("cuda:", StringComparison.Ordinal))
            throw new UsageException($"--device must be cpu or cuda, got '{options.Device}'");

        var host = await FarmHosting.BuildWorkerAsync(options, null, cancellation);
        await host.StartAsync(cancellation);
        host.Services.GetRequiredService<HeartbeatService>().Beat();
        var slots = host.Services.GetRequiredService<Farm.GpuWorker.Rendering.WorkerSlots>();
        Console.WriteLine($"worker {options.WorkerId} serving {string.Join(", ", slots.Models)} on {options.Device} ({options.Slots} pipeline(s))");
        await GracefulStop.RunUntilStoppedAsync(host, WorkerHosting.StopBudget(options), cancellation);
        return 0;
    }
}

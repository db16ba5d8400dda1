using Farm.Coordinator.Sweeps;
using Farm.Infrastructure.Progress;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Farm.Coordinator.Scheduling;

/// <summary>
/// The failure layers above a single job, checked every second for each open sweep: a sweep past its
/// <c>maxFailedImages</c> ends failed; one whose every live worker is blocklisted ends failed instead of waiting
/// forever; and running entries of workers whose heartbeat expired are cleared (RabbitMQ gives their unacknowledged
/// jobs to another worker, and counting per image keeps the counts exact).
/// </summary>
internal sealed class SweepSupervisor(IProgressStore store, SweepService sweeps, CoordinatorOptions options, ILogger<SweepSupervisor> logger)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    await SuperviseAsync(stoppingToken);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    // The dependency watch reports outages; the next tick tries again.
                    logger.LogDebug("supervision skipped: {Error}", e.Message);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    internal async Task SuperviseAsync(CancellationToken cancellation)
    {
        var workers = await store.ListWorkersAsync(options.WorkerTimeout);
        var live = workers.Select(w => w.WorkerId).ToHashSet(StringComparer.Ordinal);
        foreach (var id in await store.ListOpenSweepIdsAsync(SweepPublisher.OpenSweepsScanned))
        {
            if (await store.GetSweepAsync(id) is not { } sweep || sweep.Stopped || sweep.FinishedAt is not null) continue;
            if (await store.ForgetJobsOfDeadWorkersAsync(id, live) is > 0 and var forgotten)
                logger.LogWarning("sweep {Sweep}: {Count} running jobs of workers that stopped sending heartbeats go back to the queue", id, forgotten);
            if (await sweeps.GetPlanAsync(id, cancellation) is not { } plan) continue;

            var maxFailed = options.MaxFailedImages(plan.Spec);
            if (sweep.Failed > maxFailed)
            {
                await EndAsync(id, $"{sweep.Failed} images failed, more than maxFailedImages ({maxFailed}); see the failed images' errors, then POST /v1/sweeps/{id}/retry");
                continue;
            }
            var blocklist = await store.GetBlocklistAsync(id);
            if (blocklist.Count == 0) continue;
            foreach (var model in plan.Spec.ModelAxis)
            {
                var serving = workers.Where(w => w.Models.Contains(model)).Select(w => w.WorkerId).ToList();
                if (serving.Count == 0 || !serving.All(blocklist.Contains)) continue;
                await EndAsync(id, $"every worker serving model '{model}' is blocklisted for this sweep after repeated failures: {string.Join(", ", serving)}");
                break;
            }
        }
    }

    private async Task EndAsync(string id, string reason)
    {
        await store.FailSweepAsync(id, reason, DateTimeOffset.UtcNow);
        logger.LogWarning("sweep {Sweep} ended failed: {Reason}", id, reason);
    }
}

using Farm.GpuWorker.Rendering;
using Farm.Shared.Contracts;
using MassTransit;
using Microsoft.Extensions.Hosting;

namespace Farm.GpuWorker.Progress;

/// <summary>
/// Announces each pipeline slot (id, host, device, models, jobs done, current job) every few seconds, starting
/// once the bus is healthy: an announced model is one whose queue exists and is bound, so the jobs of a sweep
/// submitted right after the announcement are routed to it instead of being dropped by an exchange with no queue.
/// </summary>
public sealed class HeartbeatService(WorkerSlots slots, WorkerOptions options, ProgressReporter reporter, IBusControl bus) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            while (bus.CheckHealth().Status != BusHealthStatus.Healthy) await Task.Delay(100, stoppingToken);
            using var timer = new PeriodicTimer(options.HeartbeatInterval);
            do Beat();
            while (await timer.WaitForNextTickAsync(stoppingToken));
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>
    /// Runs after the bus has stopped (hosted services stop in reverse order; the bus is added after this service),
    /// so the jobs are drained: then the worker's slots leave <c>/v1/workers</c> at once, waiting for Redis at most 3 s.
    /// </summary>
    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        foreach (var slot in slots.All) reporter.Post(s => s.RemoveWorkerAsync(slot.Id));
        await reporter.FlushAsync(TimeSpan.FromSeconds(3));
    }

    /// <summary>Announces now; call only once the bus is started (hosts wait for it: see <see cref="WorkerHosting"/>).</summary>
    public void Beat()
    {
        foreach (var slot in slots.All)
        {
            var heartbeat = new WorkerHeartbeat(slot.Id, Environment.MachineName, options.Device, slots.Models, slot.JobsDone, slot.CurrentJob,
                slot.StartedAt, DateTimeOffset.UtcNow, slots.Factory.Describe(), slots.Factory.Renderer, slots.Factory.Adapters(),
                slot.ImagesPerMinute());
            reporter.Post(s => s.HeartbeatAsync(heartbeat));
        }
    }
}

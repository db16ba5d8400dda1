using Farm.GpuWorker.Rendering;
using Farm.Shared.Contracts;
using Microsoft.Extensions.Hosting;

namespace Farm.GpuWorker.Progress;

/// <summary>Announces each pipeline slot (id, host, device, models, jobs done, current job) every few seconds.</summary>
public sealed class HeartbeatService(WorkerSlots slots, WorkerOptions options, ProgressReporter reporter) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.HeartbeatInterval);
        try
        {
            do Beat();
            while (await timer.WaitForNextTickAsync(stoppingToken));
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>Also called once before the bus starts, so a sweep submitted right after start finds the models.</summary>
    public void Beat()
    {
        foreach (var slot in slots.All)
        {
            var heartbeat = new WorkerHeartbeat(slot.Id, Environment.MachineName, options.Device, slots.Models, slot.JobsDone, slot.CurrentJob, slot.StartedAt, DateTimeOffset.UtcNow);
            reporter.Post(s => s.HeartbeatAsync(heartbeat));
        }
    }
}

using Farm.Infrastructure.Messaging;
using Farm.Infrastructure.Progress;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Farm.Coordinator.Telemetry;

/// <summary>Reads the live view (and the model queues, when there is a broker) every few seconds for the gauges.</summary>
internal sealed class CoordinatorMetricsSampler(
    IProgressStore store,
    CoordinatorOptions coordinator,
    IOptions<MetricsOptions> options,
    CoordinatorMetrics metrics,
    IEnumerable<QueueDepthProbe> probes,
    ILogger<CoordinatorMetricsSampler> logger) : BackgroundService
{
    private readonly QueueDepthProbe? probe = probes.FirstOrDefault();

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var failing = false;
        using var timer = new PeriodicTimer(options.Value.SampleInterval);
        do
        {
            try
            {
                metrics.Update(await SampleAsync(stoppingToken));
                failing = false;
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                // The gauges keep their last values; the dependency watch says which service is down.
                if (!failing) logger.LogDebug("metrics not sampled: {Error}", e.Message);
                failing = true;
            }
        }
        while (await WaitAsync(timer, stoppingToken));
    }

    private static async Task<bool> WaitAsync(PeriodicTimer timer, CancellationToken stoppingToken)
    {
        try
        {
            return await timer.WaitForNextTickAsync(stoppingToken);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    internal async Task<CoordinatorSample> SampleAsync(CancellationToken cancellation)
    {
        var states = CoordinatorSample.States.ToDictionary(s => s, _ => 0L);
        long outstanding = 0;
        var oldestUnpublished = DateTimeOffset.MaxValue;
        var models = new HashSet<string>(StringComparer.Ordinal);
        foreach (var id in await store.ListSweepIdsAsync(options.Value.SweepWindow))
        {
            if (await store.GetSweepAsync(id) is not { } sweep) continue;
            states[sweep.State]++;
            if (sweep.Stopped || sweep.PublishedJobs >= sweep.Jobs) CoordinatorTracing.Forget(id);
            if (sweep.Stopped || sweep.AllDone) continue;
            models.UnionWith(sweep.Model.Split(", "));
            // The publisher's own measure of what is in flight: images published and not counted, in jobs.
            outstanding += (long)Math.Ceiling((double)sweep.InFlightImages / Math.Max(1, sweep.BatchSize));
            if (sweep.PublishedJobs == 0 && sweep.CreatedAt < oldestUnpublished) oldestUnpublished = sweep.CreatedAt;
        }
        var workers = await store.ListWorkersAsync(coordinator.WorkerTimeout);
        var depths = new Dictionary<string, long>(StringComparer.Ordinal);
        // The queues of models still to render as well as of models served: work waiting with no worker is what to see.
        models.UnionWith(workers.SelectMany(w => w.Models));
        if (probe is not null)
            foreach (var model in models)
                if (await probe.ReadyMessagesAsync(RenderTopology.QueueName(model), cancellation) is { } depth)
                    depths[model] = depth;
        var lag = oldestUnpublished == DateTimeOffset.MaxValue ? 0 : Math.Max(0, (DateTimeOffset.UtcNow - oldestUnpublished).TotalSeconds);
        return new CoordinatorSample(states, outstanding, depths, workers.Count, Math.Round(lag, 3));
    }
}

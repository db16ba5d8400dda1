using Farm.Coordinator.Sweeps;
using Farm.Coordinator.Telemetry;
using Farm.Infrastructure.Progress;
using Farm.Shared.Contracts;
using Farm.Shared.Sweeps;
using MassTransit;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Farm.Coordinator.Scheduling;

internal sealed class SweepPublisherSignal
{
    private readonly SemaphoreSlim wake = new(0, 1);

    public void Wake()
    {
        try
        {
            wake.Release();
        }
        catch (SemaphoreFullException)
        {
        }
    }

    public Task WaitAsync(TimeSpan timeout, CancellationToken cancellation) => wake.WaitAsync(timeout, cancellation);
}

/// <summary>
/// Publishes the jobs of all sweeps in the order <see cref="DispatchPolicy"/> decides, keeping each model's queue
/// short: at most <see cref="CoordinatorOptions.QueuedPerPipeline"/> jobs in flight per live pipeline of the model,
/// so a new sweep or a change of priority reaches the workers within about one job-time. Sweeps are expanded lazily;
/// the cursor lives in the progress store, so a restarted coordinator resumes where it left off. Publishing awaits
/// the broker's confirm.
/// </summary>
internal sealed class SweepPublisher(
    IProgressStore store,
    SweepService sweeps,
    IPublishEndpoint publisher,
    CoordinatorOptions options,
    SweepPublisherSignal signal,
    ILogger<SweepPublisher> logger) : BackgroundService
{
    /// <summary>The open sweeps read each round, oldest first; beyond them, newer sweeps wait for older ones to finish.</summary>
    internal const int OpenSweepsScanned = 1000;

    private readonly DispatchPolicy policy = new(options.TenantWeights);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var paused = false;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await PublishRoundAsync(stoppingToken);
                if (paused) logger.LogInformation("publishing resumed");
                paused = false;
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // Once per outage: the dependency watch says which service is down and what to do.
                if (!paused) logger.LogWarning("publishing paused until Redis and RabbitMQ answer: {Error}", e.Message.Split(" - ")[0]);
                paused = true;
            }
            try
            {
                await signal.WaitAsync(TimeSpan.FromMilliseconds(250), stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>A sweep with jobs left to publish: its next job, and its cursor as this round advances it.</summary>
    private sealed class OpenSweep(SweepSnapshot sweep, SweepPlan plan)
    {
        private long position = sweep.PublishedJobs;
        private long images = sweep.PublishedImages;

        public SweepSnapshot Sweep { get; } = sweep;
        public RenderJob Next { get; private set; } = plan.Job(sweep.Id, plan.JobAtPublishPosition(sweep.PublishedJobs));

        public DispatchCandidate Candidate => new(Sweep.Id, Sweep.Tenant, Sweep.Priority, Sweep.CreatedAt, Next.Model);

        /// <summary>Records <see cref="Next"/> as published; false when it was the sweep's last job.</summary>
        public async Task<bool> AdvanceAsync(IProgressStore store)
        {
            (position, images) = (position + 1, images + Next.Seeds.Length);
            await store.SetPublishedAsync(Sweep.Id, position, images);
            if (position >= plan.JobCount) return false;
            Next = plan.Job(Sweep.Id, plan.JobAtPublishPosition(position));
            return true;
        }
    }

    internal async Task PublishRoundAsync(CancellationToken cancellation)
    {
        var pipelines = (await store.ListWorkersAsync(options.WorkerTimeout))
            .SelectMany(w => w.Models).GroupBy(m => m, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
        var inFlight = new Dictionary<(string Tenant, string Model), double>();
        var open = new List<OpenSweep>();
        foreach (var id in await store.ListOpenSweepIdsAsync(OpenSweepsScanned))
        {
            var sweep = await store.GetSweepAsync(id);
            if (sweep is null || sweep.Stopped || sweep.AllDone)
            {
                // Finished, cancelled, ended early or expired: nothing more to publish (a retry opens it again).
                if (sweep is null || sweep.FinishedAt is not null) await store.CloseSweepAsync(id);
                continue;
            }
            var plan = await sweeps.GetPlanAsync(id, cancellation);
            if (plan is null) continue;
            // Jobs in flight, spread over the sweep's models (its jobs are published round-robin across them).
            var models = plan.Spec.ModelAxis;
            var jobs = (double)sweep.InFlightImages / plan.BatchSize / models.Count;
            foreach (var model in models) Add(inFlight, (sweep.Tenant, model), jobs);
            if (!sweep.Paused && sweep.PublishedJobs < plan.JobCount) open.Add(new OpenSweep(sweep, plan));
        }

        while (true)
        {
            var ready = open.Where(o => Capacity(pipelines, o.Next.Model) > ModelLoad(inFlight, o.Next.Model)).Select(o => o.Candidate);
            if (policy.Next(ready, (tenant, model) => (long)Math.Ceiling(inFlight.GetValueOrDefault((tenant, model)))) is not { } next) return;
            var chosen = open.First(o => o.Sweep.Id == next.SweepId);
            using (CoordinatorTracing.StartPublishing(chosen.Sweep.Id)) await publisher.Publish(chosen.Next, cancellation);
            Add(inFlight, (next.Tenant, next.Model), 1);
            if (!await chosen.AdvanceAsync(store)) open.Remove(chosen);
        }
    }

    // Every live pipeline (one heartbeat each) takes a few jobs; with none alive, one job waits for the first to come.
    private int Capacity(IReadOnlyDictionary<string, int> pipelines, string model) =>
        Math.Max(1, pipelines.GetValueOrDefault(model) * options.QueuedPerPipeline);

    private static double ModelLoad(Dictionary<(string Tenant, string Model), double> inFlight, string model) =>
        inFlight.Where(e => e.Key.Model == model).Sum(e => e.Value);

    private static void Add(Dictionary<(string, string), double> inFlight, (string, string) key, double jobs) =>
        inFlight[key] = inFlight.GetValueOrDefault(key) + jobs;
}

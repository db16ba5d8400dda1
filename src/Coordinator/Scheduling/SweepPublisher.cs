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

    /// <summary>A sweep with jobs left to publish, and its cursor as this round advances it.</summary>
    private sealed class Open(SweepSnapshot sweep, SweepPlan plan)
    {
        public SweepSnapshot Sweep { get; } = sweep;
        public SweepPlan Plan { get; } = plan;
        public long NextPosition { get; set; } = sweep.PublishedJobs;
        public long PublishedImages { get; set; } = sweep.PublishedImages;
        public RenderJob? NextJob => NextPosition < Plan.JobCount ? Plan.Job(Sweep.Id, Plan.JobAtPublishPosition(NextPosition)) : null;
    }

    internal async Task PublishRoundAsync(CancellationToken cancellation)
    {
        var pipelines = (await store.ListWorkersAsync(options.WorkerTimeout))
            .SelectMany(w => w.Models).GroupBy(m => m, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
        var inFlight = new Dictionary<(string Tenant, string Model), double>();
        var open = new List<(Open Sweep, RenderJob Job)>();
        foreach (var id in await store.ListSweepIdsAsync(200))
        {
            var sweep = await store.GetSweepAsync(id);
            if (sweep is null || sweep.Stopped || sweep.AllDone) continue;
            var plan = await sweeps.GetPlanAsync(id, cancellation);
            if (plan is null) continue;
            // Jobs in flight, spread over the sweep's models (its jobs are published round-robin across them).
            var models = plan.Spec.ModelAxis;
            var jobs = (double)sweep.InFlightImages / plan.BatchSize / models.Count;
            foreach (var model in models) Add(inFlight, (sweep.Tenant, model), jobs);
            if (sweep.Paused || sweep.PublishedJobs >= plan.JobCount) continue;
            var state = new Open(sweep, plan);
            open.Add((state, state.NextJob!));
        }

        while (true)
        {
            var ready = open.Where(o => Capacity(pipelines, o.Job.Model) > ModelLoad(inFlight, o.Job.Model))
                .Select(o => new DispatchCandidate(o.Sweep.Sweep.Id, o.Sweep.Sweep.Tenant, o.Sweep.Sweep.Priority, o.Sweep.Sweep.CreatedAt, o.Job.Model));
            if (policy.Next(ready, (tenant, model) => (long)Math.Ceiling(inFlight.GetValueOrDefault((tenant, model)))) is not { } next) return;
            var index = open.FindIndex(o => o.Sweep.Sweep.Id == next.SweepId);
            var (chosen, job) = open[index];
            using (CoordinatorTracing.StartPublishing(chosen.Sweep.Id)) await publisher.Publish(job, cancellation);
            chosen.NextPosition++;
            chosen.PublishedImages += job.Seeds.Length;
            await store.SetPublishedAsync(chosen.Sweep.Id, chosen.NextPosition, chosen.PublishedImages);
            Add(inFlight, (next.Tenant, job.Model), 1);
            if (chosen.NextJob is { } following) open[index] = (chosen, following);
            else open.RemoveAt(index);
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

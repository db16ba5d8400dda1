using Farm.Infrastructure.Progress;
using MassTransit;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Farm.Coordinator.Sweeps;

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
/// Expands sweeps into jobs lazily and publishes them with back-pressure: per sweep, at most
/// <see cref="CoordinatorOptions.PublishAhead"/> jobs are out (published, not finished); the cursor lives in the
/// progress store, so a restarted coordinator resumes where it left off. Publishing awaits the broker's confirm.
/// </summary>
internal sealed class SweepPublisher(
    IProgressStore store,
    SweepService sweeps,
    IPublishEndpoint publisher,
    CoordinatorOptions options,
    SweepPublisherSignal signal,
    ILogger<SweepPublisher> logger) : BackgroundService
{
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

    internal async Task PublishRoundAsync(CancellationToken cancellation)
    {
        foreach (var id in await store.ListSweepIdsAsync(200))
        {
            var sweep = await store.GetSweepAsync(id);
            if (sweep is null || sweep.Cancelled || sweep.PublishedJobs >= sweep.Jobs) continue;
            var plan = await sweeps.GetPlanAsync(id, cancellation);
            if (plan is null) continue;
            // Jobs fully counted so far: every job has BatchSize images except the last chunk per combination,
            // so this underestimates slightly, which only makes the window a little tighter.
            var finishedJobs = (sweep.Completed + sweep.Failed) / plan.BatchSize;
            var budget = options.PublishAhead - (sweep.PublishedJobs - finishedJobs);
            if (budget <= 0) continue;
            using var publishing = Telemetry.CoordinatorTracing.StartPublishing(id);
            var next = sweep.PublishedJobs;
            // The cursor counts jobs in publishing order (models interleaved), not job indices.
            foreach (var job in plan.JobsInPublishOrder(id, next).Take((int)Math.Min(budget, int.MaxValue)))
            {
                await publisher.Publish(job, cancellation);
                next++;
            }
            await store.SetPublishedJobsAsync(id, next);
        }
    }
}

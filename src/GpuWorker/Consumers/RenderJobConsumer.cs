using System.Diagnostics;
using Farm.Diffusion.Pipelines;
using Farm.GpuWorker.Lifecycle;
using Farm.GpuWorker.Progress;
using Farm.GpuWorker.Rendering;
using Farm.GpuWorker.Results;
using Farm.GpuWorker.Telemetry;
using Farm.Infrastructure.Progress;
using Farm.Infrastructure.Storage;
using Farm.Shared.Contracts;
using MassTransit;
using Microsoft.Extensions.Logging;

namespace Farm.GpuWorker.Consumers;

/// <summary>
/// Renders one job: skip it when its sweep was cancelled, complete it without rendering when a redelivery finds
/// its images already stored or the render cache holds them all (copied, counted as cached), otherwise render on a
/// warm pipeline, store every image, count them (idempotently), and only then return, which acknowledges the message.
/// </summary>
public sealed class RenderJobConsumer(
    WorkerSlots slots,
    IProgressStore store,
    IObjectStore bucket,
    ProgressReporter reporter,
    WorkerDrain drain,
    WorkerOptions options,
    WorkerMetrics metrics,
    Assets.AssetCache assets,
    ILogger<RenderJobConsumer> logger) : IConsumer<RenderJob>
{
    private static readonly TimeSpan FlushLimit = TimeSpan.FromSeconds(10);

    private readonly ResultWriter results = new(bucket);
    private readonly RenderCache cache = new(bucket, slots.Factory, store);

    public async Task Consume(ConsumeContext<RenderJob> context)
    {
        var job = context.Message;
        var cancellation = context.CancellationToken;
        var indices = Enumerable.Range(0, job.Seeds.Length).Select(i => job.FirstImageIndex + i).ToList();
        using var scope = logger.BeginScope("job {SweepId}/{JobIndex} on {WorkerId}", job.SweepId, job.JobIndex, options.WorkerId);

        if (await store.IsCancelledAsync(job.SweepId))
        {
            await SkipAsync(job, indices, slots.All[0].Id);
            return;
        }
        if (await results.AllStoredAsync(job, cancellation))
        {
            // A redelivery after a crash between upload and acknowledgement: the bucket already has it.
            logger.LogInformation("job {Sweep}/{Job} already stored; completing without rendering", job.SweepId, job.JobIndex);
            await CountAsync(job, indices, slots.All[0].Id, cancellation);
            return;
        }

        if (PreviousDeliveries(context) is var previous && previous >= options.DeliveryLimit)
        {
            // The last delivery the queue allows: a job that took down every worker that held it, or kept faulting
            // past its retries, is failed here with a reason instead of vanishing into the dead letters unexplained.
            var reason = $"not retried: this job was delivered {previous} times and never finished (each time the worker "
                         + "holding it crashed, e.g. a GPU driver fault, was killed, lost the broker, or its render kept throwing)";
            logger.LogError("job {Sweep}/{Job} failed: {Reason}", job.SweepId, job.JobIndex, reason);
            await FailAsync(job, indices, reason, slots.All[0].Id);
            return;
        }

        // Before taking a pipeline: a job the cache serves needs no GPU, and is not held behind renders.
        var cacheKeys = await CacheKeysAsync(job, cancellation);
        if (cacheKeys is not null && await ServedFromCacheAsync(job, cacheKeys, cancellation))
        {
            logger.LogInformation("job {Sweep}/{Job} served from the render cache: {Count} images copied, none rendered", job.SweepId, job.JobIndex, indices.Count);
            await CountAsync(job, indices, slots.All[0].Id, cancellation, cached: true);
            return;
        }

        using var lease = await slots.AcquireAsync(cancellation);
        var slot = lease.Slot;
        if (drain.Stopping.IsCancellationRequested)
        {
            // Delivered as the worker began to stop: not started, so another worker takes it.
            await HandBackAsync(context, "the worker is stopping");
            return;
        }
        if (await store.IsBarredAsync(job.SweepId, job.JobIndex, slot.Id))
        {
            // A pause first, so that the job goes to another worker rather than straight back to this one.
            await Task.Delay(options.BlocklistHandBackDelay, cancellation);
            await HandBackAsync(context, "this worker failed it before, or is blocklisted for the sweep");
            return;
        }
        slot.CurrentJob = $"{job.SweepId}/{job.JobIndex}";
        IReadOnlyList<RenderedImage> images;
        var clock = Stopwatch.StartNew();
        try
        {
            if (!slots.Models.Contains(job.Model)) throw new RenderRejectedException($"this worker does not serve model '{job.Model}'");
            var renderer = slot.Renderer(job.Model);
            // Checked again now that a pipeline is ours (the check above may be a while ago), atomically with the start.
            if (!await store.JobStartedAsync(job.SweepId, job.JobIndex, indices.Count, slot.Id, DateTimeOffset.UtcNow))
            {
                await SkipAsync(job, indices, slot.Id);
                return;
            }
            var inputs = await assets.ForJobAsync(job, cancellation);
            var renderClock = Stopwatch.StartNew();
            var stepClock = Stopwatch.StartNew();
            images = await WorkerTracing.TraceAsync("render", job, slot.Id, () => Task.Run(() => renderer.Render(job, inputs, (step, total) =>
            {
                metrics.Step(job, stepClock.Elapsed);
                stepClock.Restart();
                reporter.Post(s => s.StepAsync(job.SweepId, job.JobIndex, indices.Count, step, total, slot.Id));
                return !reporter.IsCancelled(job.SweepId) && !drain.HandBackDue;
            }, cancellation), cancellation));
            metrics.Rendered(job, renderClock.Elapsed, images.Count);
            var speed = RenderSpeed.Of(renderClock.Elapsed.TotalSeconds, images.Count, job.Width, job.Height, job.Steps);
            reporter.Post(s => s.RecordRenderSpeedAsync(job.Model, speed));
        }
        catch (OperationCanceledException) when (!cancellation.IsCancellationRequested && drain.HandBackDue)
        {
            await HandBackAsync(context, "the worker's drain time is over");
            return;
        }
        catch (OperationCanceledException) when (!cancellation.IsCancellationRequested)
        {
            logger.LogInformation("job {Sweep}/{Job} stopped: sweep cancelled", job.SweepId, job.JobIndex);
            await reporter.FlushAsync(FlushLimit);
            await store.JobStoppedAsync(job.SweepId, job.JobIndex, "cancelled");
            return;
        }
        catch (Exception e) when (e is RenderRejectedException or ArgumentException or NotSupportedException)
        {
            logger.LogWarning("job {Sweep}/{Job} failed, not retried: {Error}", job.SweepId, job.JobIndex, e.Message);
            await reporter.FlushAsync(FlushLimit);
            await FailAsync(job, indices, e.Message, slot.Id);
            return;
        }
        catch (Exception e)
        {
            reporter.Post(s => s.JobStoppedAsync(job.SweepId, job.JobIndex, "retrying"));
            if (context.GetRetryAttempt() < options.Retries) throw;
            await reporter.FlushAsync(FlushLimit);
            await SoftFailAsync(context, indices, slot.Id, e);
            return;
        }

        var renderSeconds = clock.Elapsed.TotalSeconds;
        await WorkerTracing.TraceAsync("upload", job, slot.Id, () => results.StoreAsync(job, images, slot.Id, renderSeconds, cancellation, cacheKeys?.Identities));
        if (cacheKeys is not null) await cache.IndexAsync(job, cacheKeys, cancellation);
        await reporter.FlushAsync(FlushLimit);
        await CountAsync(job, indices, slot.Id, cancellation);
        slot.CountJob(images.Count);
        logger.LogInformation("job {Sweep}/{Job} done: {Count} images in {Seconds:F1}s", job.SweepId, job.JobIndex, images.Count, clock.Elapsed.TotalSeconds);
    }

    private async Task<CacheKeys?> CacheKeysAsync(RenderJob job, CancellationToken cancellation)
    {
        try
        {
            return await cache.KeysForAsync(job, cancellation);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // The cache only ever saves work: a model hash that could not be computed means rendering, never failing.
            logger.LogWarning("job {Sweep}/{Job}: render cache skipped, its inputs could not be identified: {Error}", job.SweepId, job.JobIndex, e.Message);
            return null;
        }
    }

    private async Task<bool> ServedFromCacheAsync(RenderJob job, CacheKeys keys, CancellationToken cancellation)
    {
        try
        {
            return await WorkerTracing.TraceAsync("cache", job, slots.All[0].Id, () => cache.TryServeAsync(job, keys, cancellation));
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            logger.LogWarning("job {Sweep}/{Job}: render cache lookup failed, rendering instead: {Error}", job.SweepId, job.JobIndex, e.Message);
            return false;
        }
    }

    /// <summary>
    /// A job that kept failing here after its retries: counted against this worker, then handed to another worker,
    /// until <see cref="WorkerOptions.SoftFailWorkers"/> different workers (or every live one) failed it, as Flamenco
    /// soft-fails a task; only then are its images failed, with the error.
    /// </summary>
    private async Task SoftFailAsync(ConsumeContext<RenderJob> context, IReadOnlyList<long> indices, string worker, Exception error)
    {
        var job = context.Message;
        var failure = await store.RecordJobFailureAsync(job.SweepId, job.JobIndex, worker, options.BlocklistAfter);
        if (failure.Blocklisted)
            logger.LogWarning("blocklisted for sweep {Sweep} after failing {Count} of its jobs; the last: {Error}", job.SweepId, options.BlocklistAfter, error.Message);
        var serving = (await store.ListWorkersAsync(options.HeartbeatInterval * 5)).Count(w => w.Models.Contains(job.Model));
        if (failure.WorkersFailedJob < Math.Min(options.SoftFailWorkers, serving))
        {
            await HandBackAsync(context, $"it failed here ({error.Message}); another worker tries it");
            return;
        }
        logger.LogWarning("job {Sweep}/{Job} failed on {Workers} worker(s): {Error}", job.SweepId, job.JobIndex, failure.WorkersFailedJob, error.Message);
        await FailAsync(job, indices, $"failed on {failure.WorkersFailedJob} worker(s), the last {worker}: {error.Message}", worker);
    }

    private async Task FailAsync(RenderJob job, IReadOnlyList<long> indices, string reason, string worker)
    {
        metrics.ImagesFailed(job, (await store.FailImagesAsync(job.SweepId, job.JobIndex, indices, reason, worker, DateTimeOffset.UtcNow)).NewlyCounted);
        await store.PublishAsync(new SweepProgressed(ProgressKinds.ImageFailed, job.SweepId, job.JobIndex, job.FirstImageIndex, Worker: worker, Error: reason));
    }

    /// <summary>How often the quorum queue delivered this message before without an acknowledgement (its <c>x-delivery-count</c>).</summary>
    private static long PreviousDeliveries(ConsumeContext context) =>
        context.ReceiveContext.TransportHeaders.TryGetHeader("x-delivery-count", out var value) && value is not null
            ? Convert.ToInt64(value, System.Globalization.CultureInfo.InvariantCulture)
            : 0;

    /// <summary>
    /// A job of a stopped sweep: dropped when it was cancelled; counted as failed when it ended early (too many
    /// failures, every worker blocklisted), so that a retry of the sweep renders these images too.
    /// </summary>
    private async Task SkipAsync(RenderJob job, IReadOnlyList<long> indices, string worker)
    {
        if (await store.GetSweepAsync(job.SweepId) is { Cancelled: false, FailedReason: { } reason })
        {
            await FailAsync(job, indices, $"not rendered: the sweep ended failed ({reason})", worker);
            logger.LogInformation("job {Sweep}/{Job} not rendered: sweep ended failed", job.SweepId, job.JobIndex);
            return;
        }
        logger.LogInformation("job {Sweep}/{Job} skipped: sweep cancelled", job.SweepId, job.JobIndex);
    }

    /// <summary>
    /// Gives a job back as a new message (delivery count 0, so it neither fails nor counts against the delivery limit)
    /// and acknowledges this one by returning; its images were not stored, so whoever renders it next starts afresh.
    /// </summary>
    private async Task HandBackAsync(ConsumeContext<RenderJob> context, string why)
    {
        var job = context.Message;
        await context.Publish(job, context.CancellationToken);
        await reporter.FlushAsync(TimeSpan.FromSeconds(3));
        reporter.Post(s => s.JobStoppedAsync(job.SweepId, job.JobIndex, "queued"));
        await reporter.FlushAsync(TimeSpan.FromSeconds(3));
        logger.LogWarning("job {Sweep}/{Job} handed back: {Why}", job.SweepId, job.JobIndex, why);
    }

    private async Task CountAsync(RenderJob job, IReadOnlyList<long> indices, string worker, CancellationToken cancellation, bool cached = false)
    {
        var result = await store.CompleteImagesAsync(job.SweepId, job.JobIndex, indices, worker, DateTimeOffset.UtcNow, cached);
        metrics.ImagesCompleted(job, result.NewlyCounted);
        if (cached) metrics.ImagesCached(job, result.NewlyCounted);
        foreach (var index in indices)
            reporter.Post(s => s.PublishAsync(new SweepProgressed(ProgressKinds.ImageCompleted, job.SweepId, job.JobIndex, index, Worker: worker)));
        if (!result.SweepFinished) return;
        // Exactly one worker sees the last image land; it files the contact sheet (best effort: the images are what matter).
        try
        {
            var snapshot = await store.GetSweepAsync(job.SweepId);
            await ContactSheet.StoreAsync(bucket, job.SweepId, snapshot?.Total ?? indices[^1] + 1, cancellation);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            logger.LogWarning("contact sheet for {Sweep} not stored: {Error}", job.SweepId, e.Message);
        }
        await GridSheet.StoreBestEffortAsync(bucket, job.SweepId, logger, cancellation);
        reporter.Post(s => s.PublishAsync(new SweepProgressed(ProgressKinds.SweepFinished, job.SweepId)));
    }
}

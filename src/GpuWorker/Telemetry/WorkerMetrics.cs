using System.Diagnostics.Metrics;
using Farm.Shared.Contracts;

namespace Farm.GpuWorker.Telemetry;

/// <summary>The worker's instruments (Prometheus names in the README, "Metrics"), tagged by model and, for timings, size.</summary>
public sealed class WorkerMetrics
{
    public const string MeterName = "Farm.Worker";

    private static readonly double[] ImageBuckets = [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300];
    private static readonly double[] StepBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10];

    private readonly Counter<long> completed;
    private readonly Counter<long> failed;
    private readonly Counter<long> cached;
    private readonly Histogram<double> imageSeconds;
    private readonly Histogram<double> stepSeconds;

    public WorkerMetrics(IMeterFactory factory)
    {
        var meter = factory.Create(MeterName);
        completed = meter.CreateCounter<long>("farm.images.completed", "{image}", "Images stored and counted (a redelivery counts none)");
        failed = meter.CreateCounter<long>("farm.images.failed", "{image}", "Images that failed without retry");
        cached = meter.CreateCounter<long>("farm.images.cached", "{image}", "Images copied from the render cache instead of rendered (counted in completed too)");
        imageSeconds = meter.CreateHistogram("farm.image.render.duration", "s", "Render seconds per image (a job's render time over its batch)",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = ImageBuckets });
        stepSeconds = meter.CreateHistogram("farm.step.duration", "s", "Seconds per denoising step of a job's batch (the first includes the prompt's encoding)",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = StepBuckets });
    }

    public void ImagesCompleted(RenderJob job, int count)
    {
        if (count > 0) completed.Add(count, Model(job));
    }

    public void ImagesCached(RenderJob job, int count)
    {
        if (count > 0) cached.Add(count, Model(job));
    }

    public void ImagesFailed(RenderJob job, int count)
    {
        if (count > 0) failed.Add(count, Model(job));
    }

    /// <summary>One measurement per image of the batch, each the batch's time shared out.</summary>
    public void Rendered(RenderJob job, TimeSpan elapsed, int images)
    {
        if (images == 0) return;
        var perImage = elapsed.TotalSeconds / images;
        for (var i = 0; i < images; i++) imageSeconds.Record(perImage, Model(job), Size(job));
    }

    public void Step(RenderJob job, TimeSpan elapsed) => stepSeconds.Record(elapsed.TotalSeconds, Model(job), Size(job));

    private static KeyValuePair<string, object?> Model(RenderJob job) => new("model", job.Model);

    private static KeyValuePair<string, object?> Size(RenderJob job) => new("size", $"{job.Width}x{job.Height}");
}

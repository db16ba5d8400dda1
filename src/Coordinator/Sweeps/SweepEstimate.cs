using Farm.Infrastructure.Progress;
using Farm.Shared.Sweeps;

namespace Farm.Coordinator.Sweeps;

/// <summary>What a sweep would cost, from what the farm has measured; <c>null</c> figures say there is no measurement.</summary>
public sealed record SweepEstimate(long Images, long Jobs, IReadOnlyList<ModelEstimate> Models, double? RenderSeconds, double? EtaSeconds,
    long BucketBytesAtMost, IReadOnlyList<string> Notes);

/// <summary>One model's share: its images, jobs and megapixel-steps, the measured speed, and the pipelines alive now.</summary>
public sealed record ModelEstimate(string Model, long Images, long Jobs, double MegapixelSteps, double? SecondsPerMegapixelStep, double? RenderSeconds,
    int Pipelines, double? EtaSeconds);

/// <summary>Estimates a plan: render seconds = megapixel-steps × the model's measured seconds per megapixel-step.</summary>
internal static class SweepEstimator
{
    /// <summary>Above this many parameter combinations, an even sample of them stands for all (a dry run stays fast).</summary>
    private const long MaxCombinationsRead = 100_000;

    public static async Task<SweepEstimate> EstimateAsync(SweepPlan plan, IProgressStore store, IReadOnlyCollection<Farm.Shared.Contracts.WorkerHeartbeat> workers)
    {
        var seeds = plan.Spec.Seeds.Count;
        var jobsPerCombination = (seeds + plan.BatchSize - 1) / plan.BatchSize;
        var step = Math.Max(1, plan.Combinations / MaxCombinationsRead);
        var scale = (double)step;
        var byModel = new Dictionary<string, (double Combinations, double MegapixelSteps, double Pixels)>(StringComparer.Ordinal);
        for (long c = 0; c < plan.Combinations; c += step)
        {
            var s = plan.Axes.Settings(c);
            var pixels = (double)s.Width * s.Height;
            var (n, mps, px) = byModel.GetValueOrDefault(s.Model);
            byModel[s.Model] = (n + scale, mps + scale * seeds * pixels / 1e6 * s.Steps, px + scale * seeds * pixels);
        }

        var models = new List<ModelEstimate>();
        var notes = new List<string>();
        foreach (var (model, (combinations, megapixelSteps, _)) in byModel.OrderBy(m => m.Key, StringComparer.Ordinal))
        {
            var speed = await store.GetRenderSpeedAsync(model);
            var pipelines = workers.Count(w => w.Models.Contains(model));
            var seconds = speed * megapixelSteps;
            if (speed is null) notes.Add($"{model}: no measurement yet (no job of it has rendered on this farm), so no time estimate");
            else if (pipelines == 0) notes.Add($"{model}: no live worker serves it now, so no ETA");
            models.Add(new ModelEstimate(model, (long)Math.Round(combinations * seeds), (long)Math.Round(combinations * jobsPerCombination), Math.Round(megapixelSteps, 3),
                speed, seconds is { } t ? Math.Round(t, 1) : null, pipelines, pipelines > 0 && seconds is { } r ? Math.Round(r / pipelines, 1) : null));
        }
        var known = models.All(m => m.RenderSeconds is not null);
        // Models render on their own workers at once, so the sweep takes as long as its slowest model.
        var eta = models.All(m => m.EtaSeconds is not null) ? models.Max(m => m.EtaSeconds) : null;
        // An upper bound: a PNG of RGB pixels is never much larger than the pixels, plus a small JSON record each.
        var bytes = (long)byModel.Values.Sum(m => m.Pixels * 3) + plan.ImageCount * 1024;
        return new SweepEstimate(plan.ImageCount, plan.JobCount, models, known ? Math.Round(models.Sum(m => m.RenderSeconds!.Value), 1) : null, eta, bytes, notes);
    }
}

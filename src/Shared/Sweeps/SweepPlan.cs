using System.Security.Cryptography;
using System.Text;
using Farm.Shared.Contracts;

namespace Farm.Shared.Sweeps;

/// <summary>The parameters of one image of a sweep.</summary>
public sealed record ImageParams(long Index, string Prompt, string NegativePrompt, long Seed, int Steps, double GuidanceScale, string Scheduler, int Width, int Height)
{
    /// <summary>
    /// Depends only on what is rendered (model and parameters), so the same image has the same id in
    /// any sweep: 16 hex digits of a SHA-256.
    /// </summary>
    public string Id(string model) => ImageIds.For(model, Prompt, NegativePrompt, Seed, Steps, GuidanceScale, Scheduler, Width, Height);
}

public static class ImageIds
{
    public static string For(string model, string prompt, string negative, long seed, int steps, double guidance, string scheduler, int width, int height)
    {
        var text = string.Join('\u001f', model, prompt, negative, seed.ToString(System.Globalization.CultureInfo.InvariantCulture),
            steps.ToString(System.Globalization.CultureInfo.InvariantCulture), guidance.ToString("R", System.Globalization.CultureInfo.InvariantCulture),
            scheduler, width.ToString(System.Globalization.CultureInfo.InvariantCulture), height.ToString(System.Globalization.CultureInfo.InvariantCulture));
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)))[..16];
    }
}

/// <summary>
/// A sweep's images and jobs, computed on demand: nothing proportional to the sweep's size is held.
/// Image index order (stable, documented): prompt, then guidance scale, steps, scheduler, and seed innermost,
/// so the seeds of one parameter combination are consecutive and a job is a run of consecutive indices.
/// Job order: combination-major, then seed chunks of up to <see cref="BatchSize"/>.
/// </summary>
public sealed class SweepPlan
{
    private readonly SweepSpec spec;
    private readonly long seedCount;
    private readonly long chunksPerCombination;

    public SweepPlan(SweepSpec spec, int batchSize)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        this.spec = spec;
        BatchSize = batchSize;
        seedCount = spec.Seeds.Count;
        chunksPerCombination = (seedCount + batchSize - 1) / batchSize;
        Combinations = (long)spec.Prompts.Count * spec.GuidanceScales.Count * spec.Steps.Count * spec.Schedulers.Count;
        ImageCount = Combinations * seedCount;
        JobCount = Combinations * chunksPerCombination;
    }

    public int BatchSize { get; }
    public long Combinations { get; }
    public long ImageCount { get; }
    public long JobCount { get; }
    public SweepSpec Spec => spec;

    public ImageParams Image(long index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, ImageCount);
        var combination = index / seedCount;
        var (prompt, guidance, steps, scheduler) = Combination(combination);
        return new ImageParams(index, prompt, spec.NegativePrompt, spec.Seeds[index % seedCount], steps, guidance, scheduler, spec.Width, spec.Height);
    }

    public RenderJob Job(string sweepId, long jobIndex)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(jobIndex);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(jobIndex, JobCount);
        var combination = jobIndex / chunksPerCombination;
        var chunk = jobIndex % chunksPerCombination;
        var firstSeed = chunk * BatchSize;
        var count = (int)Math.Min(BatchSize, seedCount - firstSeed);
        var seeds = new long[count];
        for (var i = 0; i < count; i++) seeds[i] = spec.Seeds[firstSeed + i];
        var (prompt, guidance, steps, scheduler) = Combination(combination);
        return new RenderJob(sweepId, jobIndex, spec.Model, prompt, spec.NegativePrompt, steps, guidance, scheduler,
            spec.Width, spec.Height, combination * seedCount + firstSeed, seeds);
    }

    /// <summary>Jobs from <paramref name="fromJob"/> on, one at a time.</summary>
    public IEnumerable<RenderJob> Jobs(string sweepId, long fromJob = 0)
    {
        for (var j = fromJob; j < JobCount; j++) yield return Job(sweepId, j);
    }

    private (string Prompt, double Guidance, int Steps, string Scheduler) Combination(long combination)
    {
        var scheduler = spec.Schedulers[(int)(combination % spec.Schedulers.Count)];
        combination /= spec.Schedulers.Count;
        var steps = spec.Steps[(int)(combination % spec.Steps.Count)];
        combination /= spec.Steps.Count;
        var guidance = spec.GuidanceScales[(int)(combination % spec.GuidanceScales.Count)];
        combination /= spec.GuidanceScales.Count;
        return (spec.Prompts[(int)combination], guidance, steps, scheduler);
    }
}

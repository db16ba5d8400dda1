using System.Security.Cryptography;
using System.Text;
using Farm.Shared.Contracts;

namespace Farm.Shared.Sweeps;

/// <summary>The parameters of one image of a sweep.</summary>
public sealed record ImageParams(long Index, string Prompt, string NegativePrompt, long Seed, int Steps, double GuidanceScale, string Scheduler, int Width, int Height,
    string Model = "", int ClipSkip = 0, JobLora[]? Loras = null, string[]? Embeddings = null, string? Init = null, string? Mask = null, double? Strength = null)
{
    /// <summary>
    /// Depends only on what is rendered (model and parameters), so the same image has the same id in
    /// any sweep: 16 hex digits of a SHA-256.
    /// </summary>
    public string Id(string model) => ImageIds.For(model, Prompt, NegativePrompt, Seed, Steps, GuidanceScale, Scheduler, Width, Height, ClipSkip, Loras, Embeddings,
        Init, Mask, Strength);

    /// <summary>The id with this image's own model.</summary>
    public string Id() => Id(Model);
}

public static class ImageIds
{
    /// <summary>Clip skip, LoRAs, embeddings and init/mask/strength enter the hash only when set, so images without them keep their earlier ids.</summary>
    public static string For(string model, string prompt, string negative, long seed, int steps, double guidance, string scheduler, int width, int height,
        int clipSkip = 0, IReadOnlyList<JobLora>? loras = null, IReadOnlyList<string>? embeddings = null, string? init = null, string? mask = null, double? strength = null)
    {
        var inv = System.Globalization.CultureInfo.InvariantCulture;
        var parts = new List<string>
        {
            model, prompt, negative, seed.ToString(inv), steps.ToString(inv), guidance.ToString("R", inv), scheduler, width.ToString(inv), height.ToString(inv),
        };
        if (clipSkip != 0) parts.Add("clipSkip=" + clipSkip.ToString(inv));
        foreach (var lora in loras ?? []) parts.Add($"lora={lora.Name}:{lora.Scale.ToString("R", inv)}");
        foreach (var embedding in embeddings ?? []) parts.Add("embedding=" + embedding);
        if (init is not null) parts.Add("init=" + init);
        if (mask is not null) parts.Add("mask=" + mask);
        if (strength is { } s) parts.Add("strength=" + s.ToString("R", inv));
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(string.Join('\u001f', parts))))[..16];
    }
}

/// <summary>
/// A sweep's images and jobs, computed on demand: nothing proportional to the sweep's size is held.
/// Image index order (stable, documented in the README): the combinations of <see cref="SweepAxes"/> in its order
/// (model outermost; prompts, negativePrompt, size, guidanceScale, steps, scheduler, clipSkip, loras, embeddings),
/// and seed innermost, so the seeds of one parameter combination are consecutive and a job is a run of consecutive
/// indices. Job order: combination-major, then seed chunks of up to <see cref="BatchSize"/>.
/// </summary>
public sealed class SweepPlan
{
    private readonly SweepSpec spec;
    private readonly SweepAxes axes;
    private readonly long seedCount;
    private readonly long chunksPerCombination;

    public SweepPlan(SweepSpec spec, int batchSize)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        this.spec = spec;
        axes = new SweepAxes(spec);
        BatchSize = batchSize;
        seedCount = spec.Seeds.Count;
        chunksPerCombination = (seedCount + batchSize - 1) / batchSize;
        Combinations = axes.Combinations;
        ImageCount = checked(Combinations * seedCount);
        JobCount = checked(Combinations * chunksPerCombination);
    }

    public int BatchSize { get; }
    public long Combinations { get; }
    public long ImageCount { get; }
    public long JobCount { get; }
    public SweepSpec Spec => spec;
    public SweepAxes Axes => axes;

    public ImageParams Image(long index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, ImageCount);
        var s = axes.Settings(index / seedCount);
        return new ImageParams(index, s.Prompt, s.NegativePrompt, spec.Seeds[index % seedCount], s.Steps, s.GuidanceScale, s.Scheduler, s.Width, s.Height,
            s.Model, s.ClipSkip, s.Loras, s.Embeddings, spec.Init, spec.Mask, s.Strength);
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
        var s = axes.Settings(combination);
        return new RenderJob(sweepId, jobIndex, s.Model, s.Prompt, s.NegativePrompt, s.Steps, s.GuidanceScale, s.Scheduler,
            s.Width, s.Height, combination * seedCount + firstSeed, seeds, ClipSkip: s.ClipSkip,
            Loras: s.Loras.Length == 0 ? null : s.Loras, Embeddings: s.Embeddings.Length == 0 ? null : s.Embeddings,
            InitAsset: spec.Init, MaskAsset: spec.Mask, Strength: s.Strength, Cache: spec.Cache);
    }

    /// <summary>
    /// The job published at <paramref name="position"/>. With several models (the outermost dimension), their jobs
    /// are interleaved round-robin, so every model's workers have work from the start; with one model it is the
    /// job index itself. A permutation of the job indices.
    /// </summary>
    public long JobAtPublishPosition(long position)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(position);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(position, JobCount);
        var models = PublishStripes;
        return models == 1 ? position : position % models * (JobCount / models) + position / models;
    }

    /// <summary>Jobs in publishing order (<see cref="JobAtPublishPosition"/>) from <paramref name="fromPosition"/> on.</summary>
    public IEnumerable<RenderJob> JobsInPublishOrder(string sweepId, long fromPosition = 0)
    {
        for (var p = fromPosition; p < JobCount; p++) yield return Job(sweepId, JobAtPublishPosition(p));
    }

    // The outermost dimension's values when it is the model axis (alone or zipped), else 1.
    private long PublishStripes => axes.DimensionAxes[0].Contains(0) ? axes.AxisCounts[0] : 1;

    /// <summary>The job that renders image <paramref name="imageIndex"/>.</summary>
    public long JobIndexOf(long imageIndex)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(imageIndex);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(imageIndex, ImageCount);
        return imageIndex / seedCount * chunksPerCombination + imageIndex % seedCount / BatchSize;
    }

    /// <summary>
    /// Jobs that render exactly these images (ascending indices) and no others: each a run of consecutive seeds of
    /// one original job, keeping its job index (as a retry of failed images needs).
    /// </summary>
    public IEnumerable<RenderJob> JobsForImages(string sweepId, IReadOnlyList<long> imageIndices)
    {
        for (var i = 0; i < imageIndices.Count;)
        {
            var jobIndex = JobIndexOf(imageIndices[i]);
            var job = Job(sweepId, jobIndex);
            var end = i + 1;
            while (end < imageIndices.Count && imageIndices[end] == imageIndices[end - 1] + 1 && JobIndexOf(imageIndices[end]) == jobIndex) end++;
            var offset = (int)(imageIndices[i] - job.FirstImageIndex);
            yield return job with { FirstImageIndex = imageIndices[i], Seeds = job.Seeds[offset..(offset + end - i)] };
            i = end;
        }
    }

    /// <summary>Jobs from <paramref name="fromJob"/> on, one at a time.</summary>
    public IEnumerable<RenderJob> Jobs(string sweepId, long fromJob = 0)
    {
        for (var j = fromJob; j < JobCount; j++) yield return Job(sweepId, j);
    }
}

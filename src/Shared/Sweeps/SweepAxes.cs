using Farm.Shared.Contracts;

namespace Farm.Shared.Sweeps;

/// <summary>Everything of one image but its seed: what a job's seeds share.</summary>
public sealed record ImageSettings(
    string Model, string Prompt, string NegativePrompt, int Width, int Height, double GuidanceScale, int Steps, string Scheduler,
    int ClipSkip, JobLora[] Loras, string[] Embeddings, double? Strength = null);

/// <summary>
/// The axes of a sweep in their fixed order, outermost first (seeds, innermost, are the plan's business):
/// <c>model, prompts (each followed by its Prompt S/R variants), negativePrompt, size, guidanceScale, steps, scheduler,
/// clipSkip, strength (with init only), loras.NAME (in spec order), embeddings</c>. Axes zipped together form one dimension, at the place of
/// the first of them, whose i-th value takes the i-th value of each. Combination c is read as a mixed-radix number
/// over the dimensions, the last dimension varying fastest. Holds only per-axis data, never per-combination data.
/// </summary>
public sealed class SweepAxes
{
    public const string Model = "model", Prompts = "prompts", NegativePrompt = "negativePrompt", Size = "size",
        GuidanceScale = "guidanceScale", Steps = "steps", Scheduler = "scheduler", ClipSkip = "clipSkip", Strength = "strength", Embeddings = "embeddings",
        LoraPrefix = "loras.";

    private readonly SweepSpec spec;
    private readonly (int Prompt, int Variant)[] prompts;
    private readonly string[] names;
    private readonly int[] counts;
    private readonly int[][] dimensions;
    private readonly int strengthAt;
    private readonly int lorasAt;

    public SweepAxes(SweepSpec spec)
    {
        this.spec = spec;
        prompts = ExpandPrompts(spec);
        names = Names(spec).ToArray();
        counts = names.Select(n => Count(spec, n, prompts.Length)).ToArray();
        dimensions = Dimensions(spec, names);
        strengthAt = Array.IndexOf(names, Strength);
        lorasAt = strengthAt >= 0 ? strengthAt + 1 : ClipSkipAt + 1;
    }

    /// <summary>Axis names in index order, outermost first.</summary>
    public IReadOnlyList<string> AxisNames => names;

    /// <summary>Values per axis, by <see cref="AxisNames"/> position (prompts counted after Prompt S/R).</summary>
    public IReadOnlyList<int> AxisCounts => counts;

    /// <summary>Each dimension's axes (by position); a zip group is one dimension.</summary>
    public IReadOnlyList<IReadOnlyList<int>> DimensionAxes => dimensions;

    /// <summary>Combinations of everything but the seed; saturates at <see cref="long.MaxValue"/> instead of overflowing.</summary>
    public long Combinations
    {
        get
        {
            try
            {
                var total = 1L;
                foreach (var d in dimensions) total = checked(total * DimensionCount(d));
                return total;
            }
            catch (OverflowException)
            {
                return long.MaxValue;
            }
        }
    }

    // Positions in Names, read by Settings; strength (img2img only) and the loras follow clipSkip, embeddings the last.
    private const int ModelAt = 0, PromptAt = 1, NegativeAt = 2, SizeAt = 3, GuidanceAt = 4, StepsAt = 5, SchedulerAt = 6, ClipSkipAt = 7;

    // Strength is an axis only with an init image, so txt2img sweeps keep their axes (and manifests) as they were.
    public static IEnumerable<string> Names(SweepSpec spec) =>
        [Model, Prompts, NegativePrompt, Size, GuidanceScale, Steps, Scheduler, ClipSkip, .. (spec.Init is null ? (string[])[] : [Strength]),
            .. spec.Loras.Select(l => LoraPrefix + l.Name), Embeddings];

    /// <summary>Values of a named axis (prompts as written, before Prompt S/R); -1 for a name that is no axis.</summary>
    public static int Count(SweepSpec spec, string name) => Count(spec, name, spec.Prompts.Count);

    public ImageSettings Settings(long combination)
    {
        var index = new int[names.Length];
        for (var d = dimensions.Length - 1; d >= 0; d--)
        {
            var count = DimensionCount(dimensions[d]);
            var value = (int)(combination % count);
            combination /= count;
            foreach (var axis in dimensions[d]) index[axis] = value;
        }
        var (promptIndex, variant) = prompts[index[PromptAt]];
        var prompt = spec.Prompts[promptIndex];
        var negative = spec.NegativePromptAxis[index[NegativeAt]];
        if (variant > 0 && spec.PromptReplace is { } sr)
        {
            prompt = prompt.Replace(sr.Find, sr.Replace[variant - 1], StringComparison.Ordinal);
            negative = negative.Replace(sr.Find, sr.Replace[variant - 1], StringComparison.Ordinal);
        }
        var size = spec.SizeAxis[index[SizeAt]];
        var loras = new JobLora[spec.Loras.Count];
        for (var i = 0; i < loras.Length; i++) loras[i] = new JobLora(spec.Loras[i].Name, spec.Loras[i].Scales[index[lorasAt + i]]);
        double? strength = strengthAt >= 0 ? StrengthAxis(spec)[index[strengthAt]] : null;
        return new ImageSettings(spec.ModelAxis[index[ModelAt]], prompt, negative, size.Width, size.Height, spec.GuidanceScales[index[GuidanceAt]],
            spec.Steps[index[StepsAt]], spec.Schedulers[index[SchedulerAt]], spec.ClipSkips[index[ClipSkipAt]], loras, [.. spec.Embeddings[index[^1]]], strength);
    }

    // A zip group's length is that of its members (the validator rejects unequal ones; the longest is used until then).
    private int DimensionCount(int[] dimension) => dimension.Max(a => counts[a]);

    private static int Count(SweepSpec spec, string name, int expandedPrompts) => name switch
    {
        Model => spec.ModelAxis.Count,
        Prompts => expandedPrompts,
        NegativePrompt => spec.NegativePromptAxis.Count,
        Size => spec.SizeAxis.Count,
        GuidanceScale => spec.GuidanceScales.Count,
        Steps => spec.Steps.Count,
        Scheduler => spec.Schedulers.Count,
        ClipSkip => spec.ClipSkips.Count,
        Strength when spec.Init is not null => StrengthAxis(spec).Count,
        Embeddings => spec.Embeddings.Count,
        _ when name.StartsWith(LoraPrefix, StringComparison.Ordinal) && spec.Loras.FirstOrDefault(l => LoraPrefix + l.Name == name) is { } lora => lora.Scales.Count,
        _ => -1,
    };

    private static IReadOnlyList<double> StrengthAxis(SweepSpec spec) => spec.Strengths ?? [SweepSpec.DefaultStrength];

    private static (int, int)[] ExpandPrompts(SweepSpec spec)
    {
        var result = new List<(int, int)>(spec.Prompts.Count);
        for (var p = 0; p < spec.Prompts.Count; p++)
        {
            result.Add((p, 0));
            if (spec.PromptReplace is not { } sr || !spec.Prompts[p].Contains(sr.Find, StringComparison.Ordinal)) continue;
            for (var v = 1; v <= sr.Replace.Count; v++) result.Add((p, v));
        }
        return result.ToArray();
    }

    private static int[][] Dimensions(SweepSpec spec, string[] names)
    {
        var result = new List<int[]>();
        var placed = new HashSet<int>();
        for (var a = 0; a < names.Length; a++)
        {
            if (!placed.Add(a)) continue;
            var group = spec.Zip.FirstOrDefault(g => g.Contains(names[a]));
            var members = group is null
                ? [a]
                : Enumerable.Range(0, names.Length).Where(i => group.Contains(names[i])).ToArray();
            foreach (var m in members) placed.Add(m);
            result.Add(members);
        }
        return result.ToArray();
    }
}

namespace Farm.Shared.Sweeps;

/// <summary>The deployment's limits on what a sweep may ask for.</summary>
public sealed record SweepLimits
{
    public int MaxWidth { get; init; } = 1024;
    public int MaxHeight { get; init; } = 1024;
    public int MaxSteps { get; init; } = 150;
    public double MaxGuidanceScale { get; init; } = 50;
    public long MaxImages { get; init; } = 10_000_000;
    public int MaxPromptLength { get; init; } = 2000;
    public int MaxClipSkip { get; init; } = 11;
    public double MaxLoraScale { get; init; } = 10;
    /// <summary>The most <c>maxFailedImages</c> a spec may ask for.</summary>
    public long MaxFailedImagesCap { get; init; } = 100_000;
}

/// <summary>Checks a parsed spec against the limits and the models workers have announced.</summary>
public static partial class SweepValidator
{
    /// <summary>
    /// Parses and validates in one round: every field error of the spec at once (a syntax error alone, as nothing
    /// else can be read). Where the parser already rejected a field, the validator's word on it is left out.
    /// </summary>
    public static SweepParseResult Check(string text, SweepLimits limits, Func<string, bool> modelIsServed) =>
        Check(SweepSpecParser.Parse(text), limits, modelIsServed, _ => null);

    /// <summary>
    /// As <see cref="Check(string, SweepLimits, Func{string, bool})"/> for a spec already parsed (the coordinator parses
    /// first to learn which assets to look up); <paramref name="assetSize"/> gives an asset's size, null when there is none.
    /// The result's spec takes the init image's size when the spec gave none.
    /// </summary>
    public static SweepParseResult Check(SweepParseResult parsed, SweepLimits limits, Func<string, bool> modelIsServed, Func<string, ImageSize?> assetSize)
    {
        if (parsed.Spec is null) return parsed;
        var spec = TakeInitSize(parsed.Spec, assetSize);
        var errors = new SweepErrors();
        errors.AddUnreported(parsed.Errors);
        errors.AddUnreported(Validate(spec, limits, modelIsServed, assetSize));
        return new SweepParseResult(spec, errors);
    }

    public static SweepErrors Validate(SweepSpec spec, SweepLimits limits, Func<string, bool> modelIsServed) =>
        Validate(spec, limits, modelIsServed, _ => null);

    public static SweepErrors Validate(SweepSpec spec, SweepLimits limits, Func<string, bool> modelIsServed, Func<string, ImageSize?> assetSize)
    {
        var errors = new SweepErrors();
        ValidateImages(spec, limits, assetSize, errors);
        Each(spec.ModelAxis, "model", m => modelIsServed(m) ? null : $"no worker serves model '{m}'", errors);
        for (var i = 0; i < spec.Prompts.Count; i++)
        {
            if (string.IsNullOrWhiteSpace(spec.Prompts[i])) errors.Add($"prompts[{i}]", "must not be empty");
            else if (spec.Prompts[i].Length > limits.MaxPromptLength) errors.Add($"prompts[{i}]", $"is longer than {limits.MaxPromptLength} characters");
        }
        if (spec.Sizes is null && !errors.Has("init"))
        {
            Size("width", spec.Width, limits.MaxWidth, errors);
            Size("height", spec.Height, limits.MaxHeight, errors);
        }
        ValidateAxes(spec, limits, errors);
        Each(spec.Steps, "steps", s => s <= 0 ? "must be ≥ 1" : s > limits.MaxSteps ? $"must be ≤ {limits.MaxSteps}" : null, errors);
        Each(spec.GuidanceScales, "guidanceScale", g => g < 0 ? "must be ≥ 0" : g > limits.MaxGuidanceScale ? $"must be ≤ {limits.MaxGuidanceScale}" : null, errors);
        Each(spec.Schedulers, "scheduler", s => SchedulerNames.IsKnown(s) ? null : $"unknown scheduler '{s}' (known: {string.Join(", ", SchedulerNames.All)})", errors);
        if (spec.MaxFailedImages > limits.MaxFailedImagesCap) errors.Add("maxFailedImages", $"must be ≤ {limits.MaxFailedImagesCap} on this farm");
        var total = ImageCount(spec);
        if (total > limits.MaxImages) errors.Add("$", $"the sweep has {total} images, more than the limit of {limits.MaxImages}");
        return errors;
    }

    /// <summary>Images in the sweep; saturates instead of overflowing for absurd specs.</summary>
    public static long ImageCount(SweepSpec spec)
    {
        try
        {
            return checked(new SweepAxes(spec).Combinations * spec.Seeds.Count);
        }
        catch (OverflowException)
        {
            return long.MaxValue;
        }
    }

    private static void Size(string field, int value, int max, SweepErrors errors)
    {
        if (SizeProblem(value, max) is { } problem) errors.Add(field, problem);
    }

    private static string? SizeProblem(int value, int max) =>
        value <= 0 ? "must be ≥ 8" : value % 8 != 0 ? $"must be a multiple of 8 (got {value})" : value > max ? $"must be ≤ {max} (got {value})" : null;

    private static void Each<T>(IReadOnlyList<T> values, string field, Func<T, string?> check, SweepErrors errors)
    {
        for (var i = 0; i < values.Count; i++)
            if (check(values[i]) is { } message) errors.Add(values.Count == 1 ? field : $"{field}[{i}]", message);
    }
}

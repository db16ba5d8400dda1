namespace Farm.Shared.Sweeps;

/// <summary>
/// A parsed sweep: models × prompts (with Prompt S/R) × negative prompts × sizes × guidance scales × step counts ×
/// schedulers × clip skips × LoRA scales × embedding sets × seeds, minus what <see cref="Zip"/> pairs up (see
/// <see cref="SweepAxes"/> for the order). Single values are one-element axes. Parsing (<see cref="SweepSpecParser"/>) checks shapes and types; limits that depend
/// on the deployment (sizes, sweep size, models) are checked by <see cref="SweepValidator"/>.
/// </summary>
public sealed record SweepSpec
{
    public required string Model { get; init; }
    public required IReadOnlyList<string> Prompts { get; init; }
    public string NegativePrompt { get; init; } = "";
    public required SeedAxis Seeds { get; init; }
    public IReadOnlyList<int> Steps { get; init; } = [20];
    public IReadOnlyList<double> GuidanceScales { get; init; } = [7.5];
    public IReadOnlyList<string> Schedulers { get; init; } = ["euler-a"];
    public int Width { get; init; } = 512;
    public int Height { get; init; } = 512;

    /// <summary>The <c>model</c> axis when the spec lists several; <see cref="Model"/> is then its first.</summary>
    public IReadOnlyList<string>? Models { get; init; }
    /// <summary>The <c>negativePrompt</c> axis when the spec lists several; <see cref="NegativePrompt"/> is then its first.</summary>
    public IReadOnlyList<string>? NegativePrompts { get; init; }
    /// <summary>The <c>size</c> axis; when absent, the one size <see cref="Width"/> × <see cref="Height"/>.</summary>
    public IReadOnlyList<ImageSize>? Sizes { get; init; }
    public IReadOnlyList<int> ClipSkips { get; init; } = [0];
    public PromptReplace? PromptReplace { get; init; }
    /// <summary>LoRAs attached to every image; one with several scales is an axis (<c>loras.NAME</c>).</summary>
    public IReadOnlyList<LoraAxis> Loras { get; init; } = [];
    /// <summary>Sets of embeddings to load: one set for every image, or several sets as an axis.</summary>
    public IReadOnlyList<IReadOnlyList<string>> Embeddings { get; init; } = [[]];
    /// <summary>Groups of axis names whose values pair up (the i-th of each together) instead of multiplying.</summary>
    public IReadOnlyList<IReadOnlyList<string>> Zip { get; init; } = [];

    /// <summary>img2img: the init image's asset id (see <see cref="AssetIds"/>); null renders txt2img.</summary>
    public string? Init { get; init; }
    /// <summary>Inpainting: the mask's asset id (white repaints), the init image's size; needs <see cref="Init"/>.</summary>
    public string? Mask { get; init; }
    /// <summary>The <c>strength</c> axis, each in (0, 1]; [<see cref="DefaultStrength"/>] when init is given without it, null without init.</summary>
    public IReadOnlyList<double>? Strengths { get; init; }
    /// <summary>
    /// Whether the spec gave width, height or size itself; when it did not and <see cref="Init"/> is set, the validator
    /// takes the init image's size (<see cref="SweepValidator.TakeInitSize"/>).
    /// </summary>
    public bool SizeGiven { get; init; } = true;

    public const double DefaultStrength = 0.75;

    /// <summary>The sweep's starting priority, 0–100 (higher runs first within its tenant); changeable while it runs.</summary>
    public int Priority { get; init; } = SweepPriority.Default;
    /// <summary>Past this many failed images the sweep ends failed; null takes the deployment's default.</summary>
    public long? MaxFailedImages { get; init; }
    /// <summary>The axes of the X/Y/Z plot drawn when the sweep finishes; null chooses them all.</summary>
    public GridAxes? Grid { get; init; }
    /// <summary>Whether an image rendered before with the same content identity is copied instead of rendered (<c>cache: false</c> renders every image).</summary>
    public bool Cache { get; init; } = true;
    /// <summary>Where signed events of this sweep are POSTed; null sends none.</summary>
    public WebhookSpec? Webhook { get; init; }

    public IReadOnlyList<string> ModelAxis => Models ?? [Model];
    public IReadOnlyList<string> NegativePromptAxis => NegativePrompts ?? [NegativePrompt];
    public IReadOnlyList<ImageSize> SizeAxis => Sizes ?? [new ImageSize(Width, Height)];
}

/// <summary>The range of sweep priorities.</summary>
public static class SweepPriority
{
    public const int Min = 0;
    public const int Max = 100;
    public const int Default = 50;

    public static bool IsValid(int priority) => priority is >= Min and <= Max;
}

/// <summary>An image size, written <c>"WxH"</c> in a spec.</summary>
public sealed record ImageSize(int Width, int Height)
{
    public override string ToString() => $"{Width}x{Height}";
}

/// <summary>
/// AUTOMATIC1111's Prompt S/R: each prompt containing <see cref="Find"/> is rendered as written and once per
/// replacement, with every occurrence replaced (in the negative prompt too, as A1111 does). Prompts without it
/// are rendered once.
/// </summary>
public sealed record PromptReplace(string Find, IReadOnlyList<string> Replace);

/// <summary>A LoRA by name with its scales: one scale attaches it to every image, several make an axis.</summary>
public sealed record LoraAxis(string Name, IReadOnlyList<double> Scales);

/// <summary>Seeds as an explicit list or as a range <c>start .. start+count-1</c> (never materialised).</summary>
public sealed record SeedAxis
{
    private SeedAxis(IReadOnlyList<long>? list, long start, long count)
    {
        List = list;
        Start = start;
        Count = count;
    }

    public IReadOnlyList<long>? List { get; }
    public long Start { get; }
    public long Count { get; }

    public static SeedAxis Of(IReadOnlyList<long> seeds) => new(seeds, 0, seeds.Count);

    public static SeedAxis Range(long start, long count) => new(null, start, count);

    public long this[long i] => List is null ? Start + i : List[checked((int)i)];
}

/// <summary>The scheduler names the engine knows (design.md, "Naming").</summary>
public static class SchedulerNames
{
    public static readonly IReadOnlyList<string> All =
        ["ddim", "pndm", "lms", "euler", "euler-a", "dpm++2m", "dpm++2m-karras", "ddpm", "heun", "unipc"];

    public static bool IsKnown(string name) => All.Contains(name);
}

/// <summary>
/// The spec's <c>grid</c>: which axes (names as in the manifest's <c>axes</c>, <c>seeds</c> included) make the columns
/// (X), rows (Y) and separate grids (Z) of its X/Y/Z plot. Unset parts are chosen when the grids are drawn.
/// </summary>
public sealed record GridAxes(string? X, string? Y, string? Z)
{
    public const string Seeds = "seeds";

    /// <summary>The dimension (see <see cref="SweepAxes.DimensionAxes"/>; seeds are the one after the last) an axis is in; -1 for no axis.</summary>
    public static int DimensionOf(SweepAxes axes, string name)
    {
        if (name == Seeds) return axes.DimensionAxes.Count;
        var at = axes.AxisNames.ToList().IndexOf(name);
        if (at < 0) return -1;
        for (var d = 0; d < axes.DimensionAxes.Count; d++)
            if (axes.DimensionAxes[d].Contains(at)) return d;
        return -1;
    }
}

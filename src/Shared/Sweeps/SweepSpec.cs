namespace Farm.Shared.Sweeps;

/// <summary>
/// A parsed sweep: prompts × guidance scales × step counts × schedulers × seeds. Single values are
/// one-element axes. Parsing (<see cref="SweepSpecParser"/>) checks shapes and types; limits that depend
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
}

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

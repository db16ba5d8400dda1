namespace Farm.Diffusion.Schedulers;

/// <summary>
/// Creates a scheduler from our common name and the model's scheduler config, like diffusers'
/// <c>XScheduler.from_config(pipe.scheduler.config, **overrides)</c>. (Named <c>SchedulerFactory</c> rather than
/// <c>Schedulers</c>: a type named like its namespace would shadow it for every caller in <c>Farm.Diffusion.*</c>.)
/// </summary>
internal static class SchedulerFactory
{
    private static readonly Dictionary<string, Func<SchedulerConfig, IScheduler>> Makers = new(StringComparer.Ordinal)
    {
        ["ddim"] = c => new DdimScheduler(c),
        ["pndm"] = c => new PndmScheduler(c),
        ["lms"] = c => new LmsDiscreteScheduler(c),
        ["euler"] = c => new EulerDiscreteScheduler(c),
        ["euler-a"] = c => new EulerAncestralDiscreteScheduler(c),
        ["dpm++2m"] = c => new DpmSolverMultistepScheduler("dpm++2m", c),
        ["dpm++2m-karras"] = c => new DpmSolverMultistepScheduler("dpm++2m-karras", c with { UseKarrasSigmas = true }),
        ["ddpm"] = c => new DdpmScheduler(c),
        ["heun"] = c => new HeunDiscreteScheduler(c),
        ["unipc"] = c => new UniPcMultistepScheduler(c),
    };

    /// <summary>Our scheduler names, in a stable order.</summary>
    public static IReadOnlyList<string> Names { get; } = Makers.Keys.ToArray();

    /// <summary>A new scheduler (call <c>SetTimesteps</c> next); unknown names throw an <see cref="ArgumentException"/> listing the valid ones.</summary>
    public static IScheduler Create(string name, SchedulerConfig config)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(config);
        if (!Makers.TryGetValue(name.Trim().ToLowerInvariant(), out var make))
            throw new ArgumentException($"unknown scheduler '{name}'; valid names: {string.Join(", ", Names)}", nameof(name));
        return make(config);
    }
}

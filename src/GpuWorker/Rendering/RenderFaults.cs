using System.Globalization;
using Farm.Diffusion.Pipelines;
using Farm.Shared.Contracts;

namespace Farm.GpuWorker.Rendering;

public enum FaultKind
{
    /// <summary>The process dies at once, without cleanup, as a GPU driver fault would kill it.</summary>
    CrashOnSeed,
    /// <summary>The job throws: its images fail with the fault as the reason.</summary>
    FailOnSeed,
    /// <summary>The render blocks until the sweep is cancelled, the worker's drain time is over or the bus stops.</summary>
    HangOnSeed,
}

/// <summary>One <c>--fault KIND=SEED</c> of a test worker: what happens to a job holding that seed, at its first step.</summary>
public sealed record RenderFault(FaultKind Kind, long Seed)
{
    private static readonly Dictionary<string, FaultKind> Kinds = new(StringComparer.Ordinal)
    {
        ["crash-on-seed"] = FaultKind.CrashOnSeed,
        ["fail-on-seed"] = FaultKind.FailOnSeed,
        ["hang-on-seed"] = FaultKind.HangOnSeed,
    };

    public static RenderFault Parse(string text)
    {
        var parts = text.Split('=', 2);
        if (parts.Length == 2 && Kinds.TryGetValue(parts[0], out var kind)
            && long.TryParse(parts[1], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var seed))
            return new RenderFault(kind, seed);
        throw new ArgumentException($"--fault must be {string.Join(", ", Kinds.Keys.Select(k => k + "=SEED"))}, got '{text}'");
    }

    public override string ToString() => $"{Kinds.First(k => k.Value == Kind).Key}={Seed.ToString(CultureInfo.InvariantCulture)}";
}

/// <summary>Injects <see cref="RenderFault"/>s into any renderer (simulated or the engine), for tests of the farm under faults.</summary>
internal sealed class FaultInjectingRendererFactory(IRendererFactory inner, IReadOnlyList<RenderFault> faults) : IRendererFactory
{
    private static readonly TimeSpan HangPoll = TimeSpan.FromMilliseconds(500);

    public IReadOnlyList<string> Models => inner.Models;
    public string Renderer => inner.Renderer;
    public IReadOnlyList<WorkerModel> Describe() => inner.Describe();
    public WorkerAdapters? Adapters() => inner.Adapters();
    // No InputsIdentityAsync: a worker with faults never takes images from the render cache, so its faults always strike.
    public IImageRenderer Load(string model) => new FaultyRenderer(inner.Load(model), faults);

    private sealed class FaultyRenderer(IImageRenderer inner, IReadOnlyList<RenderFault> faults) : IImageRenderer
    {
        public string ModelName => inner.ModelName;

        public IReadOnlyList<RenderedImage> Render(RenderJob job, Assets.JobImages images, Func<int, int, bool> onStep, CancellationToken cancellation)
        {
            var fault = faults.FirstOrDefault(f => job.Seeds.Contains(f.Seed));
            if (fault is null) return inner.Render(job, images, onStep, cancellation);
            var struck = false;
            return inner.Render(job, images, (step, total) =>
            {
                // The first step is reported (the job is seen running), then the fault strikes, as a mid-render fault would.
                if (!onStep(step, total)) return false;
                if (struck) return true;
                struck = true;
                return Strike(fault, () => onStep(step, total), cancellation);
            }, cancellation);
        }

        private static bool Strike(RenderFault fault, Func<bool> stillWanted, CancellationToken cancellation)
        {
            switch (fault.Kind)
            {
                case FaultKind.CrashOnSeed:
                    Environment.FailFast($"fault injected by --fault {fault}");
                    return false;
                case FaultKind.FailOnSeed:
                    throw new RenderRejectedException($"fault injected by --fault {fault}");
                default:
                    // Hung, but still asking whether it is wanted: a cancelled sweep or a drain stops it, as it would a real render.
                    while (!cancellation.WaitHandle.WaitOne(HangPoll))
                        if (!stillWanted()) return false;
                    cancellation.ThrowIfCancellationRequested();
                    return false;
            }
        }

        public void Dispose() => inner.Dispose();
    }
}

using System.Globalization;

namespace Farm.GpuWorker.Rendering;

/// <summary><c>--renderer engine|simulated[:MS_PER_STEP]</c>: the engine (the default), or the simulated renderer with a time per step.</summary>
public sealed record RendererSpec(bool Simulated, TimeSpan StepDelay)
{
    public const string Engine = "engine";

    public static RendererSpec Parse(string text)
    {
        if (text == Engine) return new RendererSpec(false, TimeSpan.Zero);
        var parts = text.Split(':', 2);
        if (parts[0] == SimulatedRendererFactory.Name)
        {
            if (parts.Length == 1) return new RendererSpec(true, TimeSpan.Zero);
            if (int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var ms) && ms <= 600_000)
                return new RendererSpec(true, TimeSpan.FromMilliseconds(ms));
        }
        throw new ArgumentException($"--renderer must be {Engine} or {SimulatedRendererFactory.Name}[:MS_PER_STEP] (whole milliseconds, 0 to 600000), got '{text}'");
    }
}

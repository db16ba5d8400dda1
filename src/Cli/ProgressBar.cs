using System.Diagnostics;

namespace Farm.Cli;

/// <summary>A one-line progress bar on stderr, redrawn in place on a terminal and printed sparingly otherwise.</summary>
internal sealed class ProgressBar(string label)
{
    private readonly Stopwatch clock = Stopwatch.StartNew();
    private readonly bool interactive = !Console.IsErrorRedirected;
    private int lastPercent = -1;

    /// <summary>Redraws the bar; off a terminal only every 10% is printed, unless <paramref name="final"/> (the closing state) is set.</summary>
    public void Report(double done, double total, string? detail = null, bool final = false)
    {
        var fraction = total <= 0 ? 0 : Math.Clamp(done / total, 0, 1);
        var percent = (int)(fraction * 100);
        if (!interactive && !final && percent == lastPercent) return;
        if (!interactive && !final && percent < 100 && percent - lastPercent < 10 && lastPercent >= 0) return;
        lastPercent = percent;
        const int width = 30;
        var filled = (int)Math.Round(fraction * width);
        var elapsed = clock.Elapsed.TotalSeconds;
        var eta = fraction > 0 && fraction < 1 ? $" eta {elapsed / fraction - elapsed:F0}s" : "";
        var line = $"{label} [{new string('#', filled)}{new string('.', width - filled)}] {percent,3}% {detail}{eta} ({elapsed:F1}s)";
        if (interactive) Console.Error.Write("\r" + line.PadRight(Math.Min(Console.BufferWidth - 1, 110)));
        else Console.Error.WriteLine(line);
    }

    public void Done()
    {
        if (interactive) Console.Error.WriteLine();
    }
}

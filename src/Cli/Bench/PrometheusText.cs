using System.Globalization;

namespace Farm.Cli.Bench;

/// <summary>Sums over all series of a Prometheus text exposition (<c>/metrics</c>): enough to add up histograms' <c>_sum</c> and <c>_count</c>.</summary>
internal static class PrometheusText
{
    /// <summary>Metric name (labels dropped) → the sum of its samples.</summary>
    public static Dictionary<string, double> Totals(string exposition)
    {
        var totals = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var raw in exposition.Split('\n'))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line[0] == '#') continue;
            var nameEnd = line.IndexOfAny(['{', ' ']);
            if (nameEnd <= 0) continue;
            var valueStart = line[0..].LastIndexOf('}') is >= 0 and var brace ? brace + 1 : nameEnd;
            var parts = line[valueStart..].Trim().Split(' ');
            if (!double.TryParse(parts[0], NumberStyles.Float, CultureInfo.InvariantCulture, out var value) || !double.IsFinite(value)) continue;
            var name = line[..nameEnd];
            totals[name] = totals.GetValueOrDefault(name) + value;
        }
        return totals;
    }

    public static void Add(Dictionary<string, double> into, IReadOnlyDictionary<string, double> more)
    {
        foreach (var (name, value) in more) into[name] = into.GetValueOrDefault(name) + value;
    }
}

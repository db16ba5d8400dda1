using System.Globalization;
using System.Text.RegularExpressions;

namespace Farm.GpuWorker.Tests.Telemetry;

/// <summary>One scrape of a Prometheus text endpoint: each sample line's name, labels and value.</summary>
internal sealed partial class PrometheusScrape(string text)
{
    public string Text { get; } = text;

    private readonly IReadOnlyList<(string Name, IReadOnlyDictionary<string, string> Labels, double Value)> samples = Parse(text);

    public static async Task<PrometheusScrape> GetAsync(HttpClient http, string url = "/metrics")
    {
        using var response = await http.GetAsync(url);
        response.EnsureSuccessStatusCode();
        return new PrometheusScrape(await response.Content.ReadAsStringAsync());
    }

    /// <summary>The value of the one series named <paramref name="name"/> carrying these labels; null when there is none.</summary>
    public double? Value(string name, params (string Key, string Value)[] labels)
    {
        var matching = samples.Where(s => s.Name == name && labels.All(l => s.Labels.GetValueOrDefault(l.Key) == l.Value)).ToList();
        if (matching.Count > 1) throw new InvalidOperationException($"{matching.Count} series {name} with {string.Join(",", labels)} in:\n{Text}");
        return matching.Count == 1 ? matching[0].Value : null;
    }

    private static List<(string, IReadOnlyDictionary<string, string>, double)> Parse(string text)
    {
        var result = new List<(string, IReadOnlyDictionary<string, string>, double)>();
        foreach (var line in text.Split('\n'))
        {
            if (line.Length == 0 || line.StartsWith('#')) continue;
            var match = SampleLine().Match(line);
            if (!match.Success) throw new FormatException($"not a Prometheus sample: {line}");
            var labels = LabelPair().Matches(match.Groups["labels"].Value).ToDictionary(m => m.Groups[1].Value, m => m.Groups[2].Value);
            result.Add((match.Groups["name"].Value, labels, double.Parse(match.Groups["value"].Value, CultureInfo.InvariantCulture)));
        }
        return result;
    }

    [GeneratedRegex(@"^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?<labels>.*)\})? (?<value>\S+)( \d+)?$")]
    private static partial Regex SampleLine();

    [GeneratedRegex(@"([a-zA-Z_][a-zA-Z0-9_]*)=""((?:[^""\\]|\\.)*)""")]
    private static partial Regex LabelPair();
}

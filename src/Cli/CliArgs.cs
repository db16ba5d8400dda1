using System.Globalization;

namespace Farm.Cli;

/// <summary>
/// Arguments of one subcommand: <c>--name value</c> options, <c>--flag</c> switches and positionals.
/// Every option a command reads is checked off; <see cref="EnsureAllUsed"/> rejects the rest by name.
/// </summary>
internal sealed class CliArgs
{
    private readonly Dictionary<string, List<string?>> options = new(StringComparer.Ordinal);
    private readonly HashSet<string> used = new(StringComparer.Ordinal);

    public CliArgs(IReadOnlyList<string> args)
    {
        var positionals = new List<string>();
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            if (!arg.StartsWith("--", StringComparison.Ordinal) || arg == "--")
            {
                positionals.Add(arg);
                continue;
            }
            var name = arg[2..];
            var eq = name.IndexOf('=');
            string? value = null;
            if (eq >= 0) (name, value) = (name[..eq], name[(eq + 1)..]);
            else if (i + 1 < args.Count && !args[i + 1].StartsWith("--", StringComparison.Ordinal)) value = args[++i];
            if (!options.TryGetValue(name, out var values)) options[name] = values = [];
            values.Add(value);
        }
        Positionals = positionals;
    }

    public IReadOnlyList<string> Positionals { get; }

    public bool Flag(string name)
    {
        used.Add(name);
        if (!options.TryGetValue(name, out var values)) return false;
        if (values.FirstOrDefault(v => v is not null) is { } value) throw new UsageException($"--{name} takes no value (got '{value}')");
        return true;
    }

    /// <summary>An option given at most once.</summary>
    public string? String(string name)
    {
        var values = Strings(name);
        if (values.Count > 1) throw new UsageException($"--{name} is given {values.Count} times; give it once");
        return values.Count == 0 ? null : values[0];
    }

    /// <summary>Every value of a repeatable option (<c>--lora a --lora b</c>), in order.</summary>
    public IReadOnlyList<string> Strings(string name)
    {
        used.Add(name);
        if (!options.TryGetValue(name, out var values)) return [];
        return values.Select(v => v ?? throw new UsageException($"--{name} needs a value")).ToList();
    }

    public string Required(string name) => String(name) ?? throw new UsageException($"--{name} is required");

    public int Int(string name, int fallback, int min = int.MinValue, int max = int.MaxValue)
    {
        var text = String(name);
        if (text is null) return fallback;
        if (!int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) || value < min || value > max)
            throw new UsageException($"--{name} must be a whole number{Range(min, max)}, got '{text}'");
        return value;
    }

    public long Long(string name, long fallback)
    {
        var text = String(name);
        if (text is null) return fallback;
        if (!long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) || value < 0)
            throw new UsageException($"--{name} must be a non-negative whole number, got '{text}'");
        return value;
    }

    public double Double(string name, double fallback)
    {
        var text = String(name);
        if (text is null) return fallback;
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) || !double.IsFinite(value))
            throw new UsageException($"--{name} must be a number, got '{text}'");
        return value;
    }

    public string Positional(int index, string what) =>
        index < Positionals.Count ? Positionals[index] : throw new UsageException($"missing {what}");

    /// <summary>Rejects options the command does not know, so a typo is never silently ignored.</summary>
    public void EnsureAllUsed()
    {
        var unknown = options.Keys.Where(k => !used.Contains(k)).ToList();
        if (unknown.Count > 0) throw new UsageException($"unknown option{(unknown.Count > 1 ? "s" : "")} {string.Join(", ", unknown.Select(u => "--" + u))}");
    }

    private static string Range(int min, int max) =>
        (min, max) switch
        {
            (int.MinValue, int.MaxValue) => "",
            (_, int.MaxValue) => $" ≥ {min}",
            _ => $" in [{min}, {max}]",
        };
}

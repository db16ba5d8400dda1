using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;

namespace Farm.Cli.Parsing;

/// <summary>
/// Typed options as Farm's commands use them. Numbers go through one parser each so a bad value is one line
/// naming the option and its range (<c>--steps must be a whole number in [1, 1000], got 'zero'</c>); defaults are
/// set with <c>DefaultValueFactory</c> so that <c>--help</c> shows them.
/// </summary>
internal static class FarmOptions
{
    public static Option<string?> Text(string name, string description, string helpName) =>
        new(name) { Description = description, HelpName = helpName };

    public static Option<string> Text(string name, string description, string helpName, string fallback) =>
        new(name) { Description = description, HelpName = helpName, DefaultValueFactory = _ => fallback };

    public static Option<string> Required(string name, string description, string helpName) =>
        new(name) { Description = description, HelpName = helpName, Required = true };

    /// <summary>A repeatable option: <c>--lora a --lora b</c>, one value per occurrence, in order.</summary>
    public static Option<string[]> Repeated(string name, string description, string helpName) =>
        new(name) { Description = description, HelpName = helpName, Arity = ArgumentArity.ZeroOrMore, DefaultValueFactory = _ => [] };

    public static Option<bool> Flag(string name, string description) => new(name) { Description = description };

    public static Option<int> Int(string name, string description, int fallback, int min = int.MinValue, int max = int.MaxValue) =>
        new(name) { Description = description, HelpName = "N", DefaultValueFactory = _ => fallback, CustomParser = r => ParseInt(r, min, max) };

    /// <summary>A whole number with no fixed default (the command or the model decides when it is absent).</summary>
    public static Option<int?> OptionalInt(string name, string description, int min = int.MinValue, int max = int.MaxValue) =>
        new(name) { Description = description, HelpName = "N", CustomParser = r => ParseInt(r, min, max) };

    public static Option<long> Long(string name, string description, long fallback) =>
        new(name) { Description = description, HelpName = "N", DefaultValueFactory = _ => fallback, CustomParser = ParseLong };

    public static Option<double> Double(string name, string description, double fallback) =>
        new(name) { Description = description, HelpName = "X", DefaultValueFactory = _ => fallback, CustomParser = ParseDouble };

    public static Option<bool> Verbose() => Flag("--verbose", "debug logs, with stack traces at every level");

    /// <summary><c>--log-format text|json</c>; true for json.</summary>
    public static Option<string> LogFormat()
    {
        var option = Text("--log-format", "text (one line per entry) or json (one object per line, with sweep, job and worker ids)", "text|json", "text");
        option.AcceptOnlyFromAmong("text", "json");
        return option;
    }

    public static Option<string?> Coordinator() =>
        Text("--coordinator", "the coordinator's URL (else FARM_COORDINATOR_URL, else http://127.0.0.1:8080)", "URL");

    public static Option<string?> ApiKey() =>
        Text("--api-key", "the API key to send (else FARM_API_KEY); needed when the coordinator has keys", "KEY");

    private static int ParseInt(ArgumentResult result, int min, int max)
    {
        var text = Single(result);
        if (int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) && value >= min && value <= max) return value;
        result.AddError($"{Name(result)} must be a whole number{Range(min, max)}, got '{text}'");
        return 0;
    }

    private static long ParseLong(ArgumentResult result)
    {
        var text = Single(result);
        if (long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) && value >= 0) return value;
        result.AddError($"{Name(result)} must be a non-negative whole number, got '{text}'");
        return 0;
    }

    private static double ParseDouble(ArgumentResult result)
    {
        var text = Single(result);
        if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && double.IsFinite(value)) return value;
        result.AddError($"{Name(result)} must be a number, got '{text}'");
        return 0;
    }

    private static string Single(ArgumentResult result) => result.Tokens.Count == 0 ? "" : result.Tokens[^1].Value;

    private static string Name(ArgumentResult result) => result.Parent is OptionResult o ? o.Option.Name : result.Argument.Name;

    private static string Range(int min, int max) =>
        (min, max) switch
        {
            (int.MinValue, int.MaxValue) => "",
            (_, int.MaxValue) => $" ≥ {min}",
            _ => $" in [{min}, {max}]",
        };
}

using System.CommandLine;

namespace Farm.Cli.Parsing;

/// <summary>
/// Parse errors as one line: <c>farm render: unknown option --colour (did you mean --color?)</c>. Unknown words name the
/// closest command or option of the command they were typed under; other errors keep System.CommandLine's text.
/// </summary>
internal static class UsageErrors
{
    public static string OneLine(ParseResult parse, IEnumerable<string> extraCommands)
    {
        var command = parse.CommandResult.Command;
        var messages = new List<string>();
        var unmatched = parse.UnmatchedTokens;
        var unknownOptions = unmatched.Where(t => t.StartsWith('-')).ToList();
        foreach (var option in unknownOptions)
            messages.Add($"unknown option {option}{Hint(option, command.Options.Where(o => !o.Hidden).SelectMany(o => o.Aliases.Prepend(o.Name)))}");
        if (unknownOptions.Count == 0 && unmatched.Count > 0)
        {
            var word = unmatched[0];
            messages.Add(command.Subcommands.Count > 0 && command.Arguments.Count == 0
                ? $"unknown command '{word}'{Hint(word, command.Subcommands.Where(c => !c.Hidden).Select(c => c.Name).Concat(command.Parents.Any() ? [] : extraCommands))}; run `./farm help{Path(parse, root: false)}` for the list"
                : $"unexpected argument '{word}'");
        }
        // Unknown words explain the rest (a mistyped subcommand also leaves "Required command was not provided").
        if (messages.Count == 0 && command.Action is null && command.Subcommands.Count > 0)
            messages.Add($"missing the command: {string.Join(", ", command.Subcommands.Where(c => !c.Hidden).Select(c => c.Name))}");
        if (messages.Count == 0) messages.AddRange(parse.Errors.Select(e => OneLine(e.Message)));
        return $"{CommandPath(parse)}: {string.Join("; ", messages.Distinct())}";
    }

    private static string OneLine(string message) =>
        string.Join(' ', message.Split((char[])['\n', '\r', '\t', ' '], StringSplitOptions.RemoveEmptyEntries)).TrimEnd('.');

    /// <summary><c>farm model inspect</c>: the command that was being parsed, for the start of an error line.</summary>
    public static string CommandPath(ParseResult parse) => "farm" + Path(parse, root: false);

    private static string Path(ParseResult parse, bool root)
    {
        var names = new List<string>();
        for (var result = parse.CommandResult; result is not null; result = result.Parent as System.CommandLine.Parsing.CommandResult)
            names.Add(result.Command.Name);
        names.Reverse();
        return string.Concat(names.Skip(root ? 0 : 1).Select(n => " " + n));
    }

    private static string Hint(string typed, IEnumerable<string> known) =>
        Suggestions.Closest(typed, known) is { } closest ? $" (did you mean {(closest.StartsWith('-') ? closest : $"'{closest}'")}?)" : "";
}

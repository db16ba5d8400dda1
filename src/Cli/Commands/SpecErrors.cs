using System.Text.Json;

namespace Farm.Cli.Commands;

/// <summary>
/// A rejected spec as the CLI prints it: a heading, then one <c>field: message</c> line per error, in the order the
/// coordinator lists them (the spec's field order), so every mistake can be fixed in one go.
/// </summary>
internal static class SpecErrors
{
    public static string Describe(JsonElement problem)
    {
        if (!problem.TryGetProperty("errors", out var errors) || errors.ValueKind != JsonValueKind.Object)
            return $"the coordinator rejected the spec: {problem}";
        var lines = errors.EnumerateObject()
            .SelectMany(field => field.Value.EnumerateArray().Select(message => $"{field.Name}: {message.GetString()}"))
            .ToList();
        return $"the coordinator rejected the spec ({lines.Count} error{(lines.Count == 1 ? "" : "s")}):{Environment.NewLine}{string.Join(Environment.NewLine, lines)}";
    }
}

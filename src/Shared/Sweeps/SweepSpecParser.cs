using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Farm.Shared.Sweeps;

/// <summary>
/// Reads a sweep spec from JSON or YAML into <see cref="SweepSpec"/>, collecting one error per bad field
/// (keyed by its path, e.g. <c>prompts[1]</c>) instead of stopping at the first.
/// YAML is read into the same tree as JSON, so both formats accept exactly the same documents.
/// When the document is an object, the result carries a best-effort spec even with errors (bad values replaced
/// by defaults, list items kept at their index) so that <see cref="SweepValidator.Check"/> can report the
/// validator's errors in the same round.
/// </summary>
public static partial class SweepSpecParser
{
    internal static readonly string[] KnownFields =
        ["model", "prompts", "negativePrompt", "seeds", "steps", "guidanceScale", "scheduler", "width", "height", .. AxisFields, .. ImageFields, .. SchedulingFields, .. GridFields, .. WebhookFields];

    public static SweepParseResult Parse(string text)
    {
        var trimmed = text.TrimStart();
        return trimmed.StartsWith('{') ? ParseJson(text) : ParseYaml(text);
    }

    public static SweepParseResult ParseJson(string json)
    {
        JsonNode? node;
        try
        {
            node = JsonNode.Parse(json);
        }
        catch (JsonException e)
        {
            // System.Text.Json counts lines and columns from 0.
            var at = e.LineNumber is { } line ? $" at line {line + 1}, column {(e.BytePositionInLine ?? 0) + 1}" : "";
            return Fail("$", $"not valid JSON{at}: {e.Message}");
        }
        return FromNode(node);
    }

    public static SweepParseResult ParseYaml(string yaml)
    {
        var stream = new YamlStream();
        var parser = new Parser(new StringReader(yaml));
        try
        {
            stream.Load(parser);
        }
        catch (YamlException e)
        {
            return Fail("$", $"not valid YAML at line {e.Start.Line}, column {e.Start.Column}: {YamlReason(e)}");
        }
        catch (InvalidOperationException)
        {
            // YamlDotNet 16.3 throws this for some unclosed flow lists (`prompts: [a` then more lines): name where the value began.
            var at = parser.Current?.End;
            return Fail("$", $"not valid YAML at line {at?.Line ?? 1}, column {at?.Column ?? 1}: the value that starts here never ends (an unclosed [ or {{?)");
        }
        if (stream.Documents.Count == 0) return Fail("$", "the spec is empty");
        return FromNode(ToJson(stream.Documents[0].RootNode));
    }

    public static SweepParseResult FromNode(JsonNode? node)
    {
        var errors = new SweepErrors();
        if (node is not JsonObject obj) return Fail("$", "a sweep spec is an object with model, prompts and seeds");
        foreach (var (name, _) in obj)
            if (!KnownFields.Contains(name)) errors.Add(name, $"unknown field (known: {string.Join(", ", KnownFields)})");

        var (model, models) = ModelAxis(obj, errors);

        var prompts = StringList(obj, "prompts", errors, required: true, allowEmptyItems: true);
        if (obj["prompts"] is JsonArray { Count: 0 }) errors.Add("prompts", "must hold at least one prompt");
        var (negative, negatives) = NegativePromptAxis(obj, errors);
        var seeds = Seeds(obj["seeds"], errors);
        var steps = IntList(obj, "steps", errors) ?? [20];
        var guidance = DoubleList(obj, "guidanceScale", errors) ?? [7.5];
        var schedulers = StringList(obj, "scheduler", errors, required: false, allowEmptyItems: false) ?? ["euler-a"];
        var width = Int(obj, "width", errors) ?? 512;
        var height = Int(obj, "height", errors) ?? 512;
        var axes = ParseAxisFields(obj, errors);
        var images = ParseImageFields(obj, errors);
        var (priority, maxFailed, cache) = ParseSchedulingFields(obj, errors);
        var grid = ParseGridField(obj, errors);
        var webhook = ParseWebhookField(obj, errors);

        return new SweepParseResult(CheckGrid(new SweepSpec
        {
            Model = model ?? "",
            Prompts = prompts ?? [],
            NegativePrompt = negative,
            Seeds = seeds ?? SeedAxis.Of([]),
            Steps = steps,
            GuidanceScales = guidance,
            Schedulers = schedulers,
            Width = width,
            Height = height,
            Models = models,
            NegativePrompts = negatives,
            Sizes = axes.Sizes,
            ClipSkips = axes.ClipSkips,
            PromptReplace = axes.PromptReplace,
            Loras = axes.Loras,
            Embeddings = axes.Embeddings,
            Zip = axes.Zip,
            Init = images.Init,
            Mask = images.Mask,
            Strengths = images.Strengths,
            SizeGiven = obj["width"] is not null || obj["height"] is not null || obj["size"] is not null,
            Priority = priority,
            MaxFailedImages = maxFailed,
            Grid = grid,
            Cache = cache,
            Webhook = webhook,
        }, errors), errors);
    }

    /// <summary>The document as the tree both formats are read into (what <see cref="FromNode"/> takes); null when it does not parse.</summary>
    public static JsonNode? ReadTree(string text)
    {
        try
        {
            if (text.TrimStart().StartsWith('{')) return JsonNode.Parse(text);
            var stream = new YamlStream();
            stream.Load(new Parser(new StringReader(text)));
            return stream.Documents.Count == 0 ? null : ToJson(stream.Documents[0].RootNode);
        }
        catch (Exception e) when (e is JsonException or YamlException or InvalidOperationException)
        {
            return null;
        }
    }

    /// <summary>YamlDotNet's message without the "(Line: …, Col: …)" prefix it repeats from the mark.</summary>
    private static string YamlReason(YamlException e)
    {
        var message = e.InnerException?.Message ?? e.Message;
        var dash = message.IndexOf("): ", StringComparison.Ordinal);
        return message.StartsWith("(Line:", StringComparison.Ordinal) && dash > 0 ? message[(dash + 3)..] : message;
    }

    private static SweepParseResult Fail(string field, string message)
    {
        var errors = new SweepErrors();
        errors.Add(field, message);
        return new SweepParseResult(null, errors);
    }

    private static T Error<T>(SweepErrors errors, string field, string message, T fallback)
    {
        errors.Add(field, message);
        return fallback;
    }

    private static SeedAxis? Seeds(JsonNode? node, SweepErrors errors)
    {
        switch (node)
        {
            case null:
                errors.Add("seeds", "is required: a list of seeds or { \"start\": S, \"count\": N }");
                return null;
            case JsonArray array:
            {
                var seeds = new List<long>(array.Count);
                for (var i = 0; i < array.Count; i++)
                {
                    if (TryLong(array[i], out var seed) && seed >= 0) seeds.Add(seed);
                    else errors.Add($"seeds[{i}]", "must be a whole number ≥ 0");
                }
                if (array.Count == 0) errors.Add("seeds", "must hold at least one seed");
                return SeedAxis.Of(seeds);
            }
            case JsonObject range:
            {
                foreach (var (name, _) in range)
                    if (name is not ("start" or "count")) errors.Add($"seeds.{name}", "unknown field (known: start, count)");
                long start = 0, count = 0;
                if (range["start"] is null) errors.Add("seeds.start", "is required");
                else if (!TryLong(range["start"], out start) || start < 0) errors.Add("seeds.start", "must be a whole number ≥ 0");
                if (range["count"] is null) errors.Add("seeds.count", "is required");
                else if (!TryLong(range["count"], out count) || count <= 0) errors.Add("seeds.count", "must be a whole number ≥ 1");
                return SeedAxis.Range(start, count);
            }
            default:
                if (TryLong(node, out var single) && single >= 0) return SeedAxis.Of([single]);
                errors.Add("seeds", "must be a list of seeds or { \"start\": S, \"count\": N }");
                return null;
        }
    }

    private static IReadOnlyList<string>? StringList(JsonObject obj, string field, SweepErrors errors, bool required, bool allowEmptyItems)
    {
        var node = obj[field];
        if (node is null)
        {
            if (required) errors.Add(field, "is required");
            return null;
        }
        var items = node is JsonArray a ? a.ToList() : [node];
        var result = new List<string>(items.Count);
        for (var i = 0; i < items.Count; i++)
        {
            var path = node is JsonArray ? $"{field}[{i}]" : field;
            // A bad item keeps its place (as ""), so the validator's paths line up; its error is already recorded.
            if (items[i] is JsonValue v && v.TryGetValue<string>(out var s))
            {
                if (string.IsNullOrWhiteSpace(s)) errors.Add(path, "must not be empty");
                result.Add(allowEmptyItems ? s : s.Trim());
            }
            else
            {
                errors.Add(path, "must be a string");
                result.Add("");
            }
        }
        return result;
    }

    private static IReadOnlyList<int>? IntList(JsonObject obj, string field, SweepErrors errors)
    {
        var node = obj[field];
        if (node is null) return null;
        var items = node is JsonArray a ? a.ToList() : [node];
        var result = new List<int>();
        for (var i = 0; i < items.Count; i++)
        {
            var path = node is JsonArray ? $"{field}[{i}]" : field;
            if (TryLong(items[i], out var value) && value is >= int.MinValue and <= int.MaxValue) result.Add((int)value);
            else errors.Add(path, "must be a whole number");
        }
        if (items.Count == 0) errors.Add(field, "must hold at least one value");
        return result;
    }

    private static IReadOnlyList<double>? DoubleList(JsonObject obj, string field, SweepErrors errors)
    {
        var node = obj[field];
        if (node is null) return null;
        var items = node is JsonArray a ? a.ToList() : [node];
        var result = new List<double>();
        for (var i = 0; i < items.Count; i++)
        {
            var path = node is JsonArray ? $"{field}[{i}]" : field;
            if (TryDouble(items[i], out var value)) result.Add(value);
            else errors.Add(path, "must be a number");
        }
        if (items.Count == 0) errors.Add(field, "must hold at least one value");
        return result;
    }

    private static int? Int(JsonObject obj, string field, SweepErrors errors)
    {
        var node = obj[field];
        if (node is null) return null;
        if (TryLong(node, out var value) && value is >= int.MinValue and <= int.MaxValue) return (int)value;
        errors.Add(field, "must be a whole number");
        return null;
    }

    /// <summary>A finite number, whether the node holds it as a double or (from YAML, say) as a whole number.</summary>
    private static bool TryDouble(JsonNode? node, out double value)
    {
        value = 0;
        if (node is not JsonValue v || v.GetValueKind() != JsonValueKind.Number) return false;
        if (v.TryGetValue<double>(out value)) return double.IsFinite(value);
        if (v.TryGetValue<long>(out var whole))
        {
            value = whole;
            return true;
        }
        return false;
    }

    private static bool TryLong(JsonNode? node, out long value)
    {
        value = 0;
        if (node is not JsonValue v || v.GetValueKind() != JsonValueKind.Number) return false;
        if (v.TryGetValue<long>(out value)) return true;
        if (v.TryGetValue<double>(out var d) && d == Math.Floor(d) && Math.Abs(d) < 9e18)
        {
            value = (long)d;
            return true;
        }
        if (v.TryGetValue<JsonElement>(out var e) && e.TryGetInt64(out value)) return true;
        return false;
    }

    // Plain YAML scalars become numbers, booleans or null as YAML 1.2's core schema says; quoted ones stay strings.
    private static JsonNode? ToJson(YamlNode node) => node switch
    {
        YamlMappingNode map => new JsonObject(map.Children.Select(kv =>
            KeyValuePair.Create(((YamlScalarNode)kv.Key).Value ?? "", ToJson(kv.Value)))),
        YamlSequenceNode seq => new JsonArray(seq.Children.Select(ToJson).ToArray()),
        YamlScalarNode scalar => Scalar(scalar),
        _ => null,
    };

    private static JsonNode? Scalar(YamlScalarNode scalar)
    {
        var text = scalar.Value ?? "";
        if (scalar.Style is ScalarStyle.Plain)
        {
            if (text is "" or "~" or "null") return null;
            if (text is "true" or "false") return JsonValue.Create(text == "true");
            if (long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l)) return JsonValue.Create(l);
            if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var d)) return JsonValue.Create(d);
        }
        return JsonValue.Create(text);
    }
}

/// <summary>A parsed spec; <see cref="Spec"/> is only to be used when <see cref="IsValid"/> (with errors it is a best-effort draft).</summary>
public sealed record SweepParseResult(SweepSpec? Spec, SweepErrors Errors)
{
    public bool IsValid => Spec is not null && Errors.Count == 0;
}

/// <summary>
/// Errors by field path; what the API turns into problem details. Listed in a stable order whichever check found
/// them: the whole document (<c>$</c>) first, then the spec's fields in their documented order (unknown fields
/// after them, by name), list items by index.
/// </summary>
public sealed class SweepErrors
{
    private readonly Dictionary<string, List<string>> byField = new(StringComparer.Ordinal);

    public int Count => byField.Count;

    public bool Has(string field) => byField.ContainsKey(field);

    public void Add(string field, string message)
    {
        if (!byField.TryGetValue(field, out var list)) byField[field] = list = [];
        if (!list.Contains(message)) list.Add(message);
    }

    /// <summary>Adds the errors of fields this set says nothing about yet (the parser's word on a field wins).</summary>
    public void AddUnreported(SweepErrors other)
    {
        foreach (var (field, messages) in other.byField)
            if (!Has(field))
                foreach (var message in messages) Add(field, message);
    }

    public IReadOnlyDictionary<string, string[]> ToDictionary()
    {
        var result = new Dictionary<string, string[]>(StringComparer.Ordinal);
        foreach (var (field, messages) in Ordered()) result[field] = messages.ToArray();
        return result;
    }

    public override string ToString() => string.Join("; ", Ordered().Select(kv => $"{kv.Key}: {string.Join(", ", kv.Value)}"));

    private IEnumerable<KeyValuePair<string, List<string>>> Ordered() =>
        byField.OrderBy(kv => Rank(kv.Key)).ThenBy(kv => Root(kv.Key), StringComparer.Ordinal).ThenBy(kv => Index(kv.Key)).ThenBy(kv => kv.Key, StringComparer.Ordinal);

    private static string Root(string path) => path.Split('[', '.')[0];

    private static int Rank(string path) =>
        path == "$" ? -1 : Array.IndexOf(SweepSpecParser.KnownFields, Root(path)) is >= 0 and var i ? i : SweepSpecParser.KnownFields.Length;

    private static long Index(string path)
    {
        var open = path.IndexOf('[');
        var close = path.IndexOf(']');
        return open > 0 && close > open && long.TryParse(path[(open + 1)..close], out var index) ? index : -1;
    }
}

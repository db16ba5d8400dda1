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
/// </summary>
public static partial class SweepSpecParser
{
    private static readonly string[] KnownFields =
        ["model", "prompts", "negativePrompt", "seeds", "steps", "guidanceScale", "scheduler", "width", "height", .. AxisFields];

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
            return Fail("$", $"not valid JSON: {e.Message}");
        }
        return FromNode(node);
    }

    public static SweepParseResult ParseYaml(string yaml)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(yaml));
        }
        catch (YamlException e)
        {
            return Fail("$", $"not valid YAML: {e.Message}");
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

        if (errors.Count > 0) return new SweepParseResult(null, errors);
        return new SweepParseResult(new SweepSpec
        {
            Model = model!,
            Prompts = prompts!,
            NegativePrompt = negative,
            Seeds = seeds!,
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
        }, errors);
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
            if (items[i] is JsonValue v && v.TryGetValue<string>(out var s))
            {
                if (string.IsNullOrWhiteSpace(s)) errors.Add(path, "must not be empty");
                else result.Add(allowEmptyItems ? s : s.Trim());
            }
            else errors.Add(path, "must be a string");
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

public sealed record SweepParseResult(SweepSpec? Spec, SweepErrors Errors)
{
    public bool IsValid => Spec is not null && Errors.Count == 0;
}

/// <summary>Errors by field path, in the order found; what the API turns into problem details.</summary>
public sealed class SweepErrors
{
    private readonly Dictionary<string, List<string>> byField = new(StringComparer.Ordinal);

    public int Count => byField.Count;

    public void Add(string field, string message)
    {
        if (!byField.TryGetValue(field, out var list)) byField[field] = list = [];
        list.Add(message);
    }

    public IReadOnlyDictionary<string, string[]> ToDictionary() => byField.ToDictionary(kv => kv.Key, kv => kv.Value.ToArray());

    public override string ToString() => string.Join("; ", byField.Select(kv => $"{kv.Key}: {string.Join(", ", kv.Value)}"));
}

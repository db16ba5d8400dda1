using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Farm.Shared.Sweeps;

/// <summary>
/// The axis fields beyond the original five: <c>model</c> and <c>negativePrompt</c> as lists, <c>size</c>,
/// <c>clipSkip</c>, <c>promptReplace</c>, <c>loras</c>, <c>embeddings</c> and <c>zip</c>. Shapes, types and adapter
/// name syntax are checked here, each error keyed by its path; limits are the validator's.
/// </summary>
public static partial class SweepSpecParser
{
    private static string[] AxisFields => ["size", "clipSkip", "promptReplace", "loras", "embeddings", "zip"];

    private sealed record ParsedAxes(
        IReadOnlyList<ImageSize>? Sizes, IReadOnlyList<int> ClipSkips, PromptReplace? PromptReplace, IReadOnlyList<LoraAxis> Loras,
        IReadOnlyList<IReadOnlyList<string>> Embeddings, IReadOnlyList<IReadOnlyList<string>> Zip);

    private static (string? First, IReadOnlyList<string>? List) ModelAxis(JsonObject obj, SweepErrors errors)
    {
        switch (obj["model"])
        {
            case null:
                errors.Add("model", "is required");
                return (null, null);
            case JsonArray array:
            {
                var models = StringList(obj, "model", errors, required: true, allowEmptyItems: false)!;
                if (array.Count == 0) errors.Add("model", "must hold at least one model");
                for (var i = 0; i < models.Count; i++)
                    if (models.Take(i).Contains(models[i])) errors.Add($"model[{i}]", $"'{models[i]}' is listed twice");
                return (models.FirstOrDefault(), models);
            }
            case JsonValue m when m.TryGetValue<string>(out var name) && !string.IsNullOrWhiteSpace(name):
                return (name.Trim(), null);
            default:
                errors.Add("model", "must be a non-empty string or a list of them");
                return (null, null);
        }
    }

    private static (string First, IReadOnlyList<string>? List) NegativePromptAxis(JsonObject obj, SweepErrors errors)
    {
        switch (obj["negativePrompt"])
        {
            case null:
                return ("", null);
            case JsonValue v when v.TryGetValue<string>(out var single):
                return (single, null);
            case JsonArray array:
            {
                var list = new List<string>(array.Count);
                for (var i = 0; i < array.Count; i++)
                {
                    if (array[i] is JsonValue item && item.TryGetValue<string>(out var s)) list.Add(s);
                    else errors.Add($"negativePrompt[{i}]", "must be a string");
                }
                if (array.Count == 0) errors.Add("negativePrompt", "must hold at least one negative prompt (\"\" for none)");
                return (list.FirstOrDefault() ?? "", list);
            }
            default:
                errors.Add("negativePrompt", "must be a string or a list of strings");
                return ("", null);
        }
    }

    private static ParsedAxes ParseAxisFields(JsonObject obj, SweepErrors errors)
    {
        var sizes = Sizes(obj, errors);
        var loras = Loras(obj["loras"], errors);
        return new ParsedAxes(
            sizes,
            IntList(obj, "clipSkip", errors) ?? [0],
            PromptReplaceField(obj["promptReplace"], errors),
            loras,
            EmbeddingSets(obj["embeddings"], errors),
            ZipGroups(obj["zip"], loras, obj["promptReplace"] is not null, obj["init"] is not null, errors));
    }

    private static IReadOnlyList<ImageSize>? Sizes(JsonObject obj, SweepErrors errors)
    {
        var node = obj["size"];
        if (node is null) return null;
        if (obj["width"] is not null || obj["height"] is not null) errors.Add("size", "give either size or width and height, not both");
        var items = node is JsonArray a ? a.ToList() : [node];
        if (items.Count == 0) errors.Add("size", "must hold at least one size");
        var sizes = new List<ImageSize>(items.Count);
        for (var i = 0; i < items.Count; i++)
        {
            var path = node is JsonArray ? $"size[{i}]" : "size";
            if (items[i] is JsonValue v && v.TryGetValue<string>(out var text) && SizePattern().Match(text.Trim()) is { Success: true } match
                && int.TryParse(match.Groups[1].Value, NumberStyles.None, CultureInfo.InvariantCulture, out var w)
                && int.TryParse(match.Groups[2].Value, NumberStyles.None, CultureInfo.InvariantCulture, out var h))
                sizes.Add(new ImageSize(w, h));
            else errors.Add(path, $"{(items[i] is null ? "null" : items[i]!.ToJsonString())} is not WxH (e.g. \"512x768\")");
        }
        return sizes;
    }

    [GeneratedRegex("^([0-9]{1,9})[xX]([0-9]{1,9})$")]
    private static partial Regex SizePattern();

    private static PromptReplace? PromptReplaceField(JsonNode? node, SweepErrors errors)
    {
        if (node is null) return null;
        if (node is not JsonObject sr)
        {
            errors.Add("promptReplace", "must be { \"find\": TEXT, \"replace\": [TEXT, …] }");
            return null;
        }
        foreach (var (name, _) in sr)
            if (name is not ("find" or "replace")) errors.Add($"promptReplace.{name}", "unknown field (known: find, replace)");
        string? find = null;
        if (sr["find"] is JsonValue f && f.TryGetValue<string>(out var fs) && fs.Length > 0) find = fs;
        else errors.Add("promptReplace.find", sr["find"] is null ? "is required" : "must be a non-empty string");
        var replace = new List<string>();
        var items = sr["replace"] switch { null => null, JsonArray a => a.ToList(), var one => [one] };
        if (items is null) errors.Add("promptReplace.replace", "is required");
        else if (items.Count == 0) errors.Add("promptReplace.replace", "must hold at least one replacement");
        for (var i = 0; i < (items?.Count ?? 0); i++)
        {
            if (items![i] is JsonValue v && v.TryGetValue<string>(out var s)) replace.Add(s);
            else errors.Add(sr["replace"] is JsonArray ? $"promptReplace.replace[{i}]" : "promptReplace.replace", "must be a string");
        }
        return find is null ? null : new PromptReplace(find, replace);
    }

    private static IReadOnlyList<LoraAxis> Loras(JsonNode? node, SweepErrors errors)
    {
        if (node is null) return [];
        var items = node is JsonArray a ? a.ToList() : [node];
        var loras = new List<LoraAxis>(items.Count);
        for (var i = 0; i < items.Count; i++)
        {
            var path = node is JsonArray ? $"loras[{i}]" : "loras";
            if (items[i] is not JsonObject lora)
            {
                errors.Add(path, "must be { \"name\": NAME, \"scale\": S or [S, …] }");
                continue;
            }
            foreach (var (field, _) in lora)
                if (field is not ("name" or "scale")) errors.Add($"{path}.{field}", "unknown field (known: name, scale)");
            var name = AdapterName(lora["name"], $"{path}.name", "LoRA", errors);
            if (name is not null && loras.Any(l => l.Name == name)) errors.Add($"{path}.name", $"LoRA '{name}' is listed twice");
            var scales = Scales(lora["scale"], $"{path}.scale", errors);
            if (name is not null) loras.Add(new LoraAxis(name, scales));
        }
        return loras;
    }

    private static IReadOnlyList<double> Scales(JsonNode? node, string path, SweepErrors errors)
    {
        if (node is null) return [1.0];
        var items = node is JsonArray a ? a.ToList() : [node];
        if (items.Count == 0) errors.Add(path, "must hold at least one scale");
        var scales = new List<double>(items.Count);
        for (var i = 0; i < items.Count; i++)
        {
            if (TryDouble(items[i], out var scale)) scales.Add(scale);
            else errors.Add(node is JsonArray ? $"{path}[{i}]" : path, "must be a number");
        }
        return scales;
    }

    // ["a", "b"] is one set loaded for every image; [[], ["a"], ["a", "b"]] is an axis of sets.
    private static IReadOnlyList<IReadOnlyList<string>> EmbeddingSets(JsonNode? node, SweepErrors errors)
    {
        if (node is null) return [[]];
        if (node is not JsonArray outer) return [EmbeddingSet([node], "embeddings", single: true, errors)];
        if (outer.Count > 0 && outer.All(n => n is JsonArray))
            return outer.Select((n, i) => (IReadOnlyList<string>)EmbeddingSet(((JsonArray)n!).ToList(), $"embeddings[{i}]", single: false, errors)).ToList();
        if (outer.Any(n => n is JsonArray))
        {
            errors.Add("embeddings", "must be a list of names (one set) or a list of lists of names (an axis), not a mix");
            return [[]];
        }
        return [EmbeddingSet(outer.ToList(), "embeddings", single: false, errors)];
    }

    private static List<string> EmbeddingSet(List<JsonNode?> items, string path, bool single, SweepErrors errors)
    {
        var set = new List<string>(items.Count);
        for (var i = 0; i < items.Count; i++)
            if (AdapterName(items[i], single ? path : $"{path}[{i}]", "embedding", errors) is { } name)
            {
                if (set.Contains(name)) errors.Add(single ? path : $"{path}[{i}]", $"embedding '{name}' is listed twice");
                else set.Add(name);
            }
        return set;
    }

    private static string? AdapterName(JsonNode? node, string path, string what, SweepErrors errors)
    {
        if (node is not JsonValue v || !v.TryGetValue<string>(out var name))
        {
            errors.Add(path, node is null ? "is required" : $"must be a {what} name (a string)");
            return null;
        }
        if (AdapterNames.Problem(name) is { } problem)
        {
            errors.Add(path, $"{what} name '{name}' {problem}");
            return null;
        }
        return name;
    }

    // ["a", "b"] is one group; [["a", "b"], ["c", "d"]] several. Names are those of SweepAxes; seeds are batched, never zipped.
    private static IReadOnlyList<IReadOnlyList<string>> ZipGroups(JsonNode? node, IReadOnlyList<LoraAxis> loras, bool promptReplace, bool img2img, SweepErrors errors)
    {
        if (node is null) return [];
        if (node is not JsonArray outer || outer.Count == 0)
        {
            errors.Add("zip", "must be a list of axis names, or a list of such lists");
            return [];
        }
        var known = SweepAxes.Names(new SweepSpec { Model = "", Prompts = [], Seeds = SeedAxis.Range(0, 0), Loras = loras, Init = img2img ? "" : null }).ToList();
        var nested = outer.All(n => n is JsonArray);
        var groups = nested ? outer.Select((n, g) => (((JsonArray)n!).ToList(), $"zip[{g}]")).ToList() : [(outer.ToList(), "zip")];
        var result = new List<IReadOnlyList<string>>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (items, path) in groups)
        {
            var group = new List<string>();
            for (var i = 0; i < items.Count; i++)
            {
                var itemPath = $"{path}[{i}]";
                if (items[i] is not JsonValue v || !v.TryGetValue<string>(out var name)) errors.Add(itemPath, "must be an axis name");
                else if (name == "seeds") errors.Add(itemPath, "seeds cannot be zipped: they are the innermost axis, batched into jobs");
                else if (name == SweepAxes.Prompts && promptReplace) errors.Add(itemPath, "prompts cannot be zipped when promptReplace multiplies them");
                else if (!known.Contains(name)) errors.Add(itemPath, $"unknown axis '{name}' (known: {string.Join(", ", known)})");
                else if (!seen.Add(name)) errors.Add(itemPath, $"axis '{name}' is zipped twice");
                else group.Add(name);
            }
            if (items.Count < 2) errors.Add(path, "a zip group pairs at least two axes");
            result.Add(group);
        }
        return result;
    }
}

/// <summary>
/// What a LoRA or embedding name may be: a file stem of the worker's <c>loras/</c> or <c>embeddings/</c> folder. The
/// coordinator cannot see those folders, so it checks only the syntax; a worker without the file fails that job alone.
/// </summary>
public static class AdapterNames
{
    public const int MaxLength = 200;

    /// <summary>Why the name is not a plain file stem, or null when it is one.</summary>
    public static string? Problem(string name)
    {
        if (string.IsNullOrWhiteSpace(name)) return "must not be empty";
        if (name.Length > MaxLength) return $"is longer than {MaxLength} characters";
        if (name != name.Trim()) return "must not start or end with whitespace";
        if (name.Contains('/') || name.Contains('\\') || name.Contains(':') || name.Contains("..")) return "must be a plain file name (no '/', '\\', ':' or '..')";
        if (name.StartsWith('.')) return "must not start with '.'";
        if (name.Any(char.IsControl)) return "must not contain control characters";
        return null;
    }
}

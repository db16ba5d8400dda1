using System.Text.Json.Nodes;

namespace Farm.Shared.Sweeps;

/// <summary>
/// img2img and inpainting: <c>init</c> and <c>mask</c> (asset ids from <c>POST /v1/assets</c>) and the <c>strength</c> axis.
/// Only shapes are checked here; whether the assets exist and fit the render size is the validator's, given their sizes.
/// </summary>
public static partial class SweepSpecParser
{
    private static string[] ImageFields => ["init", "mask", "strength"];

    private sealed record ParsedImages(string? Init, string? Mask, IReadOnlyList<double>? Strengths);

    private static ParsedImages ParseImageFields(JsonObject obj, SweepErrors errors)
    {
        var init = AssetId(obj, "init", errors);
        var mask = AssetId(obj, "mask", errors);
        var strengths = DoubleList(obj, "strength", errors);
        var hasInit = obj["init"] is not null;
        if (obj["mask"] is not null && !hasInit) errors.Add("mask", "needs init: a mask says which part of the init image to repaint");
        if (strengths is not null && !hasInit) errors.Add("strength", "needs init: strength is how far img2img departs from the init image");
        return new ParsedImages(init, mask, hasInit ? strengths ?? [SweepSpec.DefaultStrength] : null);
    }

    private static string? AssetId(JsonObject obj, string field, SweepErrors errors)
    {
        var node = obj[field];
        if (node is null) return null;
        if (node is JsonValue v && v.TryGetValue<string>(out var id) && AssetIds.IsValid(id.Trim())) return id.Trim();
        errors.Add(field, $"must be an asset id (the 64 hex digits POST /v1/assets answers with; `farm submit` uploads local files), got {node.ToJsonString()}");
        return null;
    }
}

/// <summary>An asset's id: the lowercase hex SHA-256 of its stored PNG, so the name verifies the content.</summary>
public static class AssetIds
{
    public static bool IsValid(string id) => id.Length == 64 && id.All(c => c is >= '0' and <= '9' or >= 'a' and <= 'f');
}

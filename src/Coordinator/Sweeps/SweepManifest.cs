using System.Text.Json.Nodes;
using Farm.Shared.Contracts;
using Farm.Shared.Sweeps;

namespace Farm.Coordinator.Sweeps;

/// <summary>
/// <c>sweeps/&lt;id&gt;/manifest.json</c>: the accepted spec in its canonical JSON form plus the batch size, enough to
/// rebuild the plan (and so every job and image) after a restart, and with the tenant the sweep's live view after Redis lost it.
/// </summary>
internal static class SweepManifest
{
    /// <summary>What a manifest says beside the plan; <see cref="Tenant"/> is null in manifests written before tenants were recorded.</summary>
    public sealed record Header(DateTimeOffset CreatedAt, string? Tenant);

    public static string Write(string id, SweepSpec spec, int batchSize, DateTimeOffset createdAt, string? tenant = null,
        double gridMaxMegapixels = CoordinatorOptions.DefaultGridMaxMegapixels)
    {
        var node = new JsonObject
        {
            ["id"] = id,
            ["batchSize"] = batchSize,
            ["createdAt"] = createdAt,
            ["tenant"] = tenant,
            ["spec"] = SpecNode(spec),
            ["axes"] = AxesNode(spec),
            // Read by the worker that draws the grids, which has no coordinator options.
            ["gridMaxMegapixels"] = gridMaxMegapixels,
        };
        return node.ToJsonString(FarmJson.Options);
    }

    // Every axis, in the spec's own field names, so FromNode reads back exactly the spec that was accepted.
    private static JsonObject SpecNode(SweepSpec spec)
    {
        JsonNode seeds = spec.Seeds.List is { } list
            ? Array(list)
            : new JsonObject { ["start"] = spec.Seeds.Start, ["count"] = spec.Seeds.Count };
        var node = new JsonObject
        {
            ["model"] = spec.Models is { } models ? Array(models) : spec.Model,
            ["prompts"] = Array(spec.Prompts),
            ["negativePrompt"] = spec.NegativePrompts is { } negatives ? Array(negatives) : spec.NegativePrompt,
            ["seeds"] = seeds,
            ["steps"] = Array(spec.Steps),
            ["guidanceScale"] = Array(spec.GuidanceScales),
            ["scheduler"] = Array(spec.Schedulers),
            ["clipSkip"] = Array(spec.ClipSkips),
            ["loras"] = new JsonArray(spec.Loras.Select(l => (JsonNode?)new JsonObject { ["name"] = l.Name, ["scale"] = Array(l.Scales) }).ToArray()),
            ["embeddings"] = new JsonArray(spec.Embeddings.Select(set => (JsonNode?)Array(set)).ToArray()),
        };
        if (spec.Sizes is { } sizes) node["size"] = Array(sizes.Select(s => s.ToString()));
        else
        {
            node["width"] = spec.Width;
            node["height"] = spec.Height;
        }
        if (spec.PromptReplace is { } sr) node["promptReplace"] = new JsonObject { ["find"] = sr.Find, ["replace"] = Array(sr.Replace) };
        // Width and height above are the render's (the init image's when the spec gave none), so a rebuilt plan needs no asset.
        if (spec.Init is { } init) node["init"] = init;
        if (spec.Mask is { } mask) node["mask"] = mask;
        if (spec.Strengths is { } strengths) node["strength"] = Array(strengths);
        if (spec.Zip.Count > 0) node["zip"] = new JsonArray(spec.Zip.Select(g => (JsonNode?)Array(g)).ToArray());
        node["priority"] = spec.Priority;
        if (spec.MaxFailedImages is { } maxFailed) node["maxFailedImages"] = maxFailed;
        if (!spec.Cache) node["cache"] = false;
        if (spec.Grid is { } grid) node["grid"] = new JsonObject { ["x"] = grid.X, ["y"] = grid.Y, ["z"] = grid.Z };
        if (spec.Webhook is { } hook) node["webhook"] = new JsonObject { ["url"] = hook.Url, ["events"] = Array(hook.Events) };
        return node;
    }

    // The index order for readers (grids, people): axes outermost first, with their value counts and zip groups; seeds last.
    private static JsonArray AxesNode(SweepSpec spec)
    {
        var axes = new SweepAxes(spec);
        var result = new JsonArray();
        for (var d = 0; d < axes.DimensionAxes.Count; d++)
            foreach (var a in axes.DimensionAxes[d])
                result.Add(new JsonObject { ["name"] = axes.AxisNames[a], ["values"] = axes.AxisCounts[a], ["dimension"] = d });
        result.Add(new JsonObject { ["name"] = "seeds", ["values"] = spec.Seeds.Count, ["dimension"] = axes.DimensionAxes.Count });
        return result;
    }

    private static JsonArray Array<T>(IEnumerable<T> values) => new(values.Select(v => (JsonNode?)JsonValue.Create(v)).ToArray());

    public static Header ReadHeader(string json)
    {
        var node = JsonNode.Parse(json)!.AsObject();
        return new Header(node["createdAt"]!.GetValue<DateTimeOffset>(), node["tenant"]?.GetValue<string>());
    }

    public static SweepPlan Read(string json)
    {
        var node = JsonNode.Parse(json)!.AsObject();
        var parsed = SweepSpecParser.FromNode(node["spec"]!.DeepClone());
        if (!parsed.IsValid) throw new InvalidDataException($"manifest spec is invalid: {parsed.Errors}");
        return new SweepPlan(parsed.Spec!, node["batchSize"]!.GetValue<int>());
    }
}

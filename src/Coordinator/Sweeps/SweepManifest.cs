using System.Text.Json.Nodes;
using Farm.Shared.Contracts;
using Farm.Shared.Sweeps;

namespace Farm.Coordinator.Sweeps;

/// <summary>
/// <c>sweeps/&lt;id&gt;/manifest.json</c>: the accepted spec in its canonical JSON form plus the batch size, enough to
/// rebuild the plan (and so every job and image) after a restart.
/// </summary>
internal static class SweepManifest
{
    public static string Write(string id, SweepSpec spec, int batchSize, DateTimeOffset createdAt)
    {
        JsonNode seeds = spec.Seeds.List is { } list
            ? new JsonArray(list.Select(s => (JsonNode?)JsonValue.Create(s)).ToArray())
            : new JsonObject { ["start"] = spec.Seeds.Start, ["count"] = spec.Seeds.Count };
        var node = new JsonObject
        {
            ["id"] = id,
            ["batchSize"] = batchSize,
            ["createdAt"] = createdAt,
            ["spec"] = new JsonObject
            {
                ["model"] = spec.Model,
                ["prompts"] = new JsonArray(spec.Prompts.Select(p => (JsonNode?)JsonValue.Create(p)).ToArray()),
                ["negativePrompt"] = spec.NegativePrompt,
                ["seeds"] = seeds,
                ["steps"] = new JsonArray(spec.Steps.Select(s => (JsonNode?)JsonValue.Create(s)).ToArray()),
                ["guidanceScale"] = new JsonArray(spec.GuidanceScales.Select(g => (JsonNode?)JsonValue.Create(g)).ToArray()),
                ["scheduler"] = new JsonArray(spec.Schedulers.Select(s => (JsonNode?)JsonValue.Create(s)).ToArray()),
                ["width"] = spec.Width,
                ["height"] = spec.Height,
            },
        };
        return node.ToJsonString(FarmJson.Options);
    }

    public static SweepPlan Read(string json)
    {
        var node = JsonNode.Parse(json)!.AsObject();
        var parsed = SweepSpecParser.FromNode(node["spec"]!.DeepClone());
        if (!parsed.IsValid) throw new InvalidDataException($"manifest spec is invalid: {parsed.Errors}");
        return new SweepPlan(parsed.Spec!, node["batchSize"]!.GetValue<int>());
    }
}

using System.Text.Json.Nodes;

namespace Farm.Shared.Sweeps;

public static partial class SweepSpecParser
{
    private static string[] SchedulingFields => ["priority", "maxFailedImages", "cache"];

    private static (int Priority, long? MaxFailedImages, bool Cache) ParseSchedulingFields(JsonObject obj, SweepErrors errors)
    {
        var priority = Int(obj, "priority", errors) ?? SweepPriority.Default;
        if (!SweepPriority.IsValid(priority))
            priority = Error(errors, "priority", $"must be between {SweepPriority.Min} and {SweepPriority.Max}", SweepPriority.Default);

        long? maxFailed = null;
        if (obj["maxFailedImages"] is { } node)
        {
            if (TryLong(node, out var value) && value >= 0) maxFailed = value;
            else errors.Add("maxFailedImages", "must be a whole number ≥ 0");
        }
        var cache = true;
        if (obj["cache"] is { } cacheNode)
        {
            if (cacheNode.GetValueKind() is System.Text.Json.JsonValueKind.True or System.Text.Json.JsonValueKind.False) cache = cacheNode.GetValue<bool>();
            else errors.Add("cache", "must be true or false");
        }
        return (priority, maxFailed, cache);
    }
}

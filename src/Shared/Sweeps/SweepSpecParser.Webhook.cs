using System.Text.Json.Nodes;

namespace Farm.Shared.Sweeps;

public static partial class SweepSpecParser
{
    private static string[] WebhookFields => ["webhook"];
    private static readonly string[] WebhookParts = ["url", "events"];

    // Shapes only: whether the target may be reached (private addresses) is the coordinator's to say.
    private static WebhookSpec? ParseWebhookField(JsonObject obj, SweepErrors errors)
    {
        if (obj["webhook"] is not { } node) return null;
        if (node is not JsonObject hook)
        {
            errors.Add("webhook", "must be an object {url: URL, events: [image, sweep]}");
            return null;
        }
        foreach (var (field, _) in hook)
            if (!WebhookParts.Contains(field)) errors.Add($"webhook.{field}", $"unknown field (known: {string.Join(", ", WebhookParts)})");

        var url = "";
        if (hook["url"] is null) errors.Add("webhook.url", "is required");
        else if (hook["url"] is not JsonValue v || !v.TryGetValue(out url!)) errors.Add("webhook.url", "must be a string");
        else if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") || uri.Host.Length == 0)
            errors.Add("webhook.url", $"must be an absolute http or https URL (got '{url}')");
        else if (uri.UserInfo.Length > 0) errors.Add("webhook.url", "must not carry a user name or password");

        var events = WebhookEvents.All;
        if (hook["events"] is { } list)
        {
            var items = list is JsonArray array ? array.ToList() : [list];
            var names = new List<string>();
            for (var i = 0; i < items.Count; i++)
            {
                var path = list is JsonArray ? $"webhook.events[{i}]" : "webhook.events";
                if (items[i] is not JsonValue item || !item.TryGetValue<string>(out var name)) errors.Add(path, "must be an event name");
                else if (!WebhookEvents.All.Contains(name)) errors.Add(path, $"unknown event '{name}' (known: {string.Join(", ", WebhookEvents.All)})");
                else if (!names.Contains(name)) names.Add(name);
            }
            if (items.Count == 0) errors.Add("webhook.events", "must name at least one event (or leave it out for all)");
            events = names;
        }
        return new WebhookSpec(url ?? "", events);
    }
}

namespace Farm.Shared.Sweeps;

/// <summary>
/// The spec's <c>webhook</c>: where the coordinator POSTs a signed JSON event per completed image and when the
/// sweep ends, filtered to <see cref="Events"/> (both when the spec names none).
/// </summary>
public sealed record WebhookSpec(string Url, IReadOnlyList<string> Events)
{
    public bool Wants(string kind) => Events.Contains(kind);
}

/// <summary>The webhook event names: what a spec's <c>webhook.events</c> lists and the <c>X-Farm-Event</c> header says.</summary>
public static class WebhookEvents
{
    public const string Image = "image";
    public const string Sweep = "sweep";

    public static readonly IReadOnlyList<string> All = [Image, Sweep];
}

using System.Globalization;

namespace Farm.Coordinator.Webhooks;

/// <summary>
/// Redis layout of webhooks, below the live view's prefix:
/// <list type="bullet">
/// <item><c>webhook-secrets</c> hash tenant → signing secret</item>
/// <item><c>webhook-sweeps</c> set of the ids of sweeps with a webhook, watched until they end (a retry watches one again)</item>
/// <item><c>sweep:{id}:webhook-sent</c> bitmap, bit i set once image i's event is queued; <c>sweep:{id}:webhook-ended</c>
/// the finish time whose sweep event is queued (a retried sweep that ends again sends another)</item>
/// <item><c>sweep:{id}:webhook</c> hash of outcomes: delivered, failed, lastError, lastErrorAt</item>
/// <item><c>webhook-pending</c> sorted set delivery id → when it is next due (ms since the epoch; a delivery in flight is leased ahead)</item>
/// <item><c>webhook-delivery:{id}</c> hash: sweep, tenant, url, event, body, attempts, firstDueAt</item>
/// </list>
/// </summary>
internal sealed record WebhookKeys(string Prefix)
{
    public string Secrets => $"{Prefix}webhook-secrets";
    public string Sweeps => $"{Prefix}webhook-sweeps";
    public string Sent(string sweepId) => $"{Prefix}sweep:{sweepId}:webhook-sent";
    public string Ended(string sweepId) => $"{Prefix}sweep:{sweepId}:webhook-ended";
    public string Outcomes(string sweepId) => $"{Prefix}sweep:{sweepId}:webhook";
    public string Pending => $"{Prefix}webhook-pending";
    public string Delivery(string deliveryId) => $"{Prefix}webhook-delivery:{deliveryId}";

    /// <summary>Stable per event, so a receiver can drop a repeat (the same delivery retried, or queued again after a crash).</summary>
    public static string ImageDeliveryId(string sweepId, long index) => $"{sweepId}.image.{index.ToString(CultureInfo.InvariantCulture)}";

    public static string SweepDeliveryId(string sweepId, long finishedAtMs) => $"{sweepId}.sweep.{finishedAtMs.ToString(CultureInfo.InvariantCulture)}";
}

namespace Farm.Coordinator.Webhooks;

/// <summary>Delivery of sweep webhooks (section <c>Webhooks</c>).</summary>
public sealed class WebhookOptions
{
    public const string Section = "Webhooks";

    /// <summary>
    /// Whether a webhook may target loopback, private, link-local or other internal addresses. Off by default so a
    /// tenant cannot make the coordinator call into its own network (SSRF); the demo and tests turn it on.
    /// </summary>
    public bool AllowPrivateTargets { get; set; }
    /// <summary>How long one POST may take before it counts as failed.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(10);
    /// <summary>POSTs in flight at once, across receivers: a slow receiver holds one slot, never the queue.</summary>
    public int MaxConcurrentDeliveries { get; set; } = 16;
    /// <summary>The wait before the first retry; it doubles with each failure (with jitter) up to <see cref="MaxBackoff"/>.</summary>
    public TimeSpan InitialBackoff { get; set; } = TimeSpan.FromSeconds(5);
    public TimeSpan MaxBackoff { get; set; } = TimeSpan.FromMinutes(10);
    /// <summary>A delivery still failing this long after it was first due is given up and counted as failed.</summary>
    public TimeSpan MaxRetryDuration { get; set; } = TimeSpan.FromHours(1);
    /// <summary>How often new images and ended sweeps are looked for, and due deliveries picked up.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);

    public IEnumerable<string> Validate()
    {
        if (Timeout <= TimeSpan.Zero) yield return "Webhooks:Timeout must be > 0";
        if (MaxConcurrentDeliveries < 1) yield return "Webhooks:MaxConcurrentDeliveries must be ≥ 1";
        if (InitialBackoff <= TimeSpan.Zero) yield return "Webhooks:InitialBackoff must be > 0";
        if (MaxBackoff < InitialBackoff) yield return "Webhooks:MaxBackoff must be ≥ Webhooks:InitialBackoff";
        if (MaxRetryDuration < TimeSpan.Zero) yield return "Webhooks:MaxRetryDuration must be ≥ 0";
        if (PollInterval <= TimeSpan.Zero) yield return "Webhooks:PollInterval must be > 0";
    }
}

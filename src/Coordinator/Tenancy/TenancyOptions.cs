namespace Farm.Coordinator.Tenancy;

/// <summary>Whether requests need an API key (section <c>Auth</c>, or FARM_AUTH).</summary>
public sealed class AuthOptions
{
    public const string Section = "Auth";

    /// <summary>
    /// auto: keys are needed once any key exists, and always beyond loopback (where the coordinator refuses to start
    /// with no key); on: always needed; off: never checked, every caller sees everything.
    /// </summary>
    public string Mode { get; set; } = "auto";

    public bool Off => Mode.Equals("off", StringComparison.OrdinalIgnoreCase);
    public bool On => Mode.Equals("on", StringComparison.OrdinalIgnoreCase);

    public string? Problem() =>
        Mode.ToLowerInvariant() is "auto" or "on" or "off" ? null : $"Auth:Mode (FARM_AUTH) must be auto, on or off, got '{Mode}'";
}

/// <summary>What one tenant may use (section <c>Tenants</c>); <see cref="Overrides"/> changes them for named tenants.</summary>
public sealed class TenantLimitsOptions
{
    public const string Section = "Tenants";

    /// <summary>Images of a tenant's unfinished sweeps, counting the one being submitted; above it a submit gets 429.</summary>
    public long MaxQueuedImages { get; set; } = 1_000_000;
    /// <summary>API requests per second and tenant (a token bucket holding one second's worth); above it 429 with Retry-After.</summary>
    public int RequestsPerSecond { get; set; } = 20;
    public Dictionary<string, TenantLimit> Overrides { get; set; } = new(StringComparer.Ordinal);

    public long QueuedImagesFor(string tenant) => Overrides.GetValueOrDefault(tenant)?.MaxQueuedImages ?? MaxQueuedImages;
    public int RequestsPerSecondFor(string tenant) => Overrides.GetValueOrDefault(tenant)?.RequestsPerSecond ?? RequestsPerSecond;

    public IEnumerable<string> Validate()
    {
        if (MaxQueuedImages < 1) yield return "Tenants:MaxQueuedImages must be ≥ 1";
        if (RequestsPerSecond < 1) yield return "Tenants:RequestsPerSecond must be ≥ 1";
        foreach (var (name, limit) in Overrides)
        {
            if (limit.MaxQueuedImages < 1) yield return $"Tenants:Overrides:{name}:MaxQueuedImages must be ≥ 1";
            if (limit.RequestsPerSecond < 1) yield return $"Tenants:Overrides:{name}:RequestsPerSecond must be ≥ 1";
        }
    }
}

public sealed class TenantLimit
{
    public long? MaxQueuedImages { get; set; }
    public int? RequestsPerSecond { get; set; }
}

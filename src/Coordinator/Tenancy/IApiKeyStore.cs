namespace Farm.Coordinator.Tenancy;

/// <summary>API keys (Redis in deployment, memory in the embedded default). Lookups are never cached, so a revoke counts at once.</summary>
public interface IApiKeyStore
{
    /// <summary>Makes a key for the tenant; throws <see cref="ArgumentException"/> for a bad tenant name.</summary>
    Task<NewApiKey> CreateAsync(string tenant, bool admin, DateTimeOffset createdAt);
    /// <summary>The key whose secret this is, or null when it is unknown or revoked.</summary>
    Task<ApiKey?> FindAsync(string secret);
    /// <summary>Oldest first.</summary>
    Task<IReadOnlyList<ApiKey>> ListAsync();
    /// <summary>False when there is no key with this id.</summary>
    Task<bool> RevokeAsync(string id);
    Task<bool> AnyAsync();
}

internal static class ApiKeyStoreChecks
{
    public static void CheckTenant(string tenant)
    {
        if (TenantNames.Problem(tenant) is { } problem) throw new ArgumentException(problem, nameof(tenant));
    }
}

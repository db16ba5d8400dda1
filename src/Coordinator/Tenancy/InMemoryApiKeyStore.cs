using System.Collections.Concurrent;

namespace Farm.Coordinator.Tenancy;

/// <summary>Keys in memory for the embedded default: same semantics as <see cref="RedisApiKeyStore"/>.</summary>
public sealed class InMemoryApiKeyStore : IApiKeyStore
{
    private readonly ConcurrentDictionary<string, ApiKey> byHash = new(StringComparer.Ordinal);

    public Task<NewApiKey> CreateAsync(string tenant, bool admin, DateTimeOffset createdAt)
    {
        ApiKeyStoreChecks.CheckTenant(tenant);
        var key = new ApiKey(ApiKeySecrets.NewId(), tenant, admin, createdAt);
        var secret = ApiKeySecrets.Generate();
        byHash[ApiKeySecrets.Hash(secret)] = key;
        return Task.FromResult(new NewApiKey(key, secret));
    }

    public Task<ApiKey?> FindAsync(string secret) => Task.FromResult(byHash.GetValueOrDefault(ApiKeySecrets.Hash(secret)));

    public Task<IReadOnlyList<ApiKey>> ListAsync() =>
        Task.FromResult<IReadOnlyList<ApiKey>>(byHash.Values.OrderBy(k => k.CreatedAt).ThenBy(k => k.Id, StringComparer.Ordinal).ToList());

    public Task<bool> RevokeAsync(string id)
    {
        var hash = byHash.FirstOrDefault(e => e.Value.Id == id).Key;
        return Task.FromResult(hash is not null && byHash.TryRemove(hash, out _));
    }

    public Task<bool> AnyAsync() => Task.FromResult(!byHash.IsEmpty);
}

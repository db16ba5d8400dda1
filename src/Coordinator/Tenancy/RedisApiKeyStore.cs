using Farm.Shared.Contracts;
using Farm.Shared.Layout;
using StackExchange.Redis;

namespace Farm.Coordinator.Tenancy;

/// <summary>Keys in one Redis hash: field = the secret's SHA-256, value = the <see cref="ApiKey"/> as JSON.</summary>
public sealed class RedisApiKeyStore(IConnectionMultiplexer redis, string prefix) : IApiKeyStore
{
    private readonly ProgressKeys keys = new(prefix);
    private IDatabase Db => redis.GetDatabase();

    public async Task<NewApiKey> CreateAsync(string tenant, bool admin, DateTimeOffset createdAt)
    {
        ApiKeyStoreChecks.CheckTenant(tenant);
        var key = new ApiKey(ApiKeySecrets.NewId(), tenant, admin, createdAt);
        var secret = ApiKeySecrets.Generate();
        await Db.HashSetAsync(keys.ApiKeys, ApiKeySecrets.Hash(secret), FarmJson.Serialize(key));
        return new NewApiKey(key, secret);
    }

    public async Task<ApiKey?> FindAsync(string secret)
    {
        var value = await Db.HashGetAsync(keys.ApiKeys, ApiKeySecrets.Hash(secret));
        return value.IsNull ? null : FarmJson.Deserialize<ApiKey>(value!);
    }

    public async Task<IReadOnlyList<ApiKey>> ListAsync() =>
        (await All()).Select(e => e.Key).OrderBy(k => k.CreatedAt).ThenBy(k => k.Id, StringComparer.Ordinal).ToList();

    public async Task<bool> RevokeAsync(string id)
    {
        var entry = (await All()).FirstOrDefault(e => e.Key.Id == id);
        return entry.Hash is not null && await Db.HashDeleteAsync(keys.ApiKeys, entry.Hash);
    }

    public async Task<bool> AnyAsync() => await Db.HashLengthAsync(keys.ApiKeys) > 0;

    private async Task<List<(string Hash, ApiKey Key)>> All() =>
        (await Db.HashGetAllAsync(keys.ApiKeys)).Select(e => ((string)e.Name!, FarmJson.Deserialize<ApiKey>(e.Value!))).ToList();
}

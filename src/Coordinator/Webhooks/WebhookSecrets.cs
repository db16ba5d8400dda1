using System.Security.Cryptography;
using StackExchange.Redis;

namespace Farm.Coordinator.Webhooks;

/// <summary>One signing secret per tenant, made on first use and kept in Redis so every coordinator signs alike.</summary>
internal sealed class WebhookSecrets(IConnectionMultiplexer redis, WebhookKeys keys)
{
    public async Task<string> GetOrCreateAsync(string tenant)
    {
        var db = redis.GetDatabase();
        // HSETNX: two coordinators creating at once agree on the first one written.
        await db.HashSetAsync(keys.Secrets, tenant, "whsec_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32)), When.NotExists);
        return (await db.HashGetAsync(keys.Secrets, tenant))!;
    }
}

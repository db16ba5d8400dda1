using System.CommandLine;
using System.Globalization;
using Farm.Cli.Parsing;
using Farm.Coordinator.Tenancy;
using Farm.Infrastructure;
using Microsoft.Extensions.Configuration;
using StackExchange.Redis;

namespace Farm.Cli.Commands;

/// <summary>
/// `farm keys create --tenant NAME [--admin]`, `farm keys list`, `farm keys revoke ID`: API keys, straight in Redis
/// (FARM_REDIS, FARM_REDIS_PREFIX), where the coordinator reads them on every request.
/// </summary>
internal static class KeysCommand
{
    public static Command Create() =>
        new("keys", "manage API keys in Redis (FARM_REDIS): create, list, revoke") { CreateKey(), List(), Revoke() };

    private static Command CreateKey()
    {
        var tenant = FarmOptions.Required("--tenant", "the tenant the key's sweeps belong to", "NAME");
        var admin = FarmOptions.Flag("--admin", "the key sees every tenant's sweeps and the workers");
        var command = new Command("create", "make a key and print it once (only its SHA-256 is stored)") { tenant, admin };
        command.SetAction(async (parse, cancellation) =>
        {
            var name = parse.GetValue(tenant)!;
            if (TenantNames.Problem(name) is { } problem) throw new UsageException(problem);
            using var redis = await ConnectAsync();
            var created = await Store(redis).CreateAsync(name, parse.GetValue(admin), DateTimeOffset.UtcNow);
            // The key alone on stdout, so KEY=$(./farm keys create ...) works; the note on stderr.
            Console.WriteLine(created.Secret);
            Console.Error.WriteLine($"{created.Key.Id}: a{(created.Key.Admin ? "n admin" : "")} key for tenant {created.Key.Tenant}. It is shown only now; " +
                "send it as FARM_API_KEY (or --api-key), or as 'Authorization: Bearer KEY'.");
            return 0;
        });
        return command;
    }

    private static Command List()
    {
        var command = new Command("list", "list keys: id, tenant, admin, created (never the key)");
        command.SetAction(async (_, cancellation) =>
        {
            using var redis = await ConnectAsync();
            var keys = await Store(redis).ListAsync();
            if (keys.Count == 0)
            {
                Console.WriteLine("no API keys (the coordinator serves without keys on loopback only); make one with ./farm keys create --tenant NAME");
                return 0;
            }
            var width = Math.Max("tenant".Length, keys.Max(k => k.Tenant.Length));
            Console.WriteLine($"{"id",-12} {"tenant".PadRight(width)} {"admin",-5} created");
            foreach (var k in keys)
                Console.WriteLine($"{k.Id,-12} {k.Tenant.PadRight(width)} {(k.Admin ? "yes" : "no"),-5} {k.CreatedAt.ToString("u", CultureInfo.InvariantCulture)}");
            return 0;
        });
        return command;
    }

    private static Command Revoke()
    {
        var id = new Argument<string>("id") { Description = "the key's id, as keys list shows it (key-…)" };
        var command = new Command("revoke", "revoke a key: the coordinator refuses it from the next request") { id };
        command.SetAction(async (parse, cancellation) =>
        {
            var keyId = parse.GetValue(id)!;
            using var redis = await ConnectAsync();
            if (!await Store(redis).RevokeAsync(keyId)) throw new UsageException($"no key '{keyId}' (./farm keys list shows them)");
            Console.WriteLine($"revoked {keyId}");
            return 0;
        });
        return command;
    }

    private static RedisOptions Options() =>
        FarmHosting.Bind<RedisOptions>(new ConfigurationBuilder().AddFarmSettings().Build(), RedisOptions.Section);

    private static RedisApiKeyStore Store(IConnectionMultiplexer redis) => new(redis, Options().Prefix);

    /// <summary>Redis from FARM_REDIS, or a usage error saying how to reach it.</summary>
    internal static async Task<IConnectionMultiplexer> ConnectAsync()
    {
        var options = Options();
        var config = ConfigurationOptions.Parse(options.Configuration);
        config.ConnectTimeout = 5000;
        try
        {
            return await ConnectionMultiplexer.ConnectAsync(config);
        }
        catch (RedisConnectionException e)
        {
            throw new UsageException($"cannot reach Redis at {string.Join(", ", config.EndPoints)} (FARM_REDIS): {e.Message.Split('.')[0]}; start the local services with ./farm services start, or point FARM_REDIS at yours");
        }
    }
}

using Farm.Coordinator.Tenancy;
using Farm.Shared.Layout;
using Farm.Testing;
using StackExchange.Redis;
using Xunit;

namespace Farm.Coordinator.Tests.Contracts;

/// <summary>What every API key store does, run against memory (the embedded default) and Redis.</summary>
public abstract class ApiKeyStoreContract
{
    protected abstract Task<IApiKeyStore> CreateAsync();

    [Fact]
    public async Task A_created_key_is_found_by_its_secret_and_nothing_else_finds_it()
    {
        var store = await CreateAsync();
        Assert.False(await store.AnyAsync());
        var alice = await store.CreateAsync("alice", admin: false, DateTimeOffset.UtcNow);
        var root = await store.CreateAsync("ops", admin: true, DateTimeOffset.UtcNow.AddSeconds(1));
        Assert.True(await store.AnyAsync());
        Assert.StartsWith("farm_", alice.Secret);
        Assert.True(alice.Secret.Length >= 40, alice.Secret);
        Assert.NotEqual(alice.Secret, root.Secret);
        Assert.Equal(("alice", false), ((await store.FindAsync(alice.Secret))!.Tenant, (await store.FindAsync(alice.Secret))!.Admin));
        Assert.Equal(("ops", true), ((await store.FindAsync(root.Secret))!.Tenant, (await store.FindAsync(root.Secret))!.Admin));
        Assert.Null(await store.FindAsync(alice.Secret + "x"));
        Assert.Null(await store.FindAsync(alice.Key.Id));
        Assert.Null(await store.FindAsync(""));
    }

    [Fact]
    public async Task Keys_are_listed_oldest_first_and_a_revoked_key_is_gone_at_once()
    {
        var store = await CreateAsync();
        var first = await store.CreateAsync("alice", admin: false, DateTimeOffset.UtcNow.AddMinutes(-1));
        var second = await store.CreateAsync("bob", admin: true, DateTimeOffset.UtcNow);
        Assert.Equal([first.Key.Id, second.Key.Id], (await store.ListAsync()).Select(k => k.Id));
        Assert.Equal(["alice", "bob"], (await store.ListAsync()).Select(k => k.Tenant));
        Assert.True(await store.RevokeAsync(first.Key.Id));
        Assert.Null(await store.FindAsync(first.Secret));
        Assert.NotNull(await store.FindAsync(second.Secret));
        Assert.False(await store.RevokeAsync(first.Key.Id));
        Assert.False(await store.RevokeAsync("key-nothere"));
        Assert.Equal([second.Key.Id], (await store.ListAsync()).Select(k => k.Id));
    }

    [Theory]
    [InlineData("")]
    [InlineData("has space")]
    [InlineData("-leading-dash")]
    [InlineData("anonymous")]
    public async Task A_bad_or_reserved_tenant_name_is_refused(string tenant)
    {
        var store = await CreateAsync();
        await Assert.ThrowsAsync<ArgumentException>(() => store.CreateAsync(tenant, admin: false, DateTimeOffset.UtcNow));
        Assert.False(await store.AnyAsync());
    }
}

public sealed class InMemoryApiKeyStoreTests : ApiKeyStoreContract
{
    protected override Task<IApiKeyStore> CreateAsync() => Task.FromResult<IApiKeyStore>(new InMemoryApiKeyStore());
}

public sealed class RedisApiKeyStoreTests : ApiKeyStoreContract
{
    protected override async Task<IApiKeyStore> CreateAsync() =>
        new RedisApiKeyStore(await TestServices.ConnectRedisAsync(), TestServices.UniqueRedisPrefix("apikeys"));

    [Fact]
    public async Task Redis_holds_the_secrets_sha256_and_never_the_secret()
    {
        var redis = await TestServices.ConnectRedisAsync();
        var prefix = TestServices.UniqueRedisPrefix("apikeys");
        var created = await new RedisApiKeyStore(redis, prefix).CreateAsync("alice", admin: false, DateTimeOffset.UtcNow);
        var entries = await redis.GetDatabase().HashGetAllAsync(new ProgressKeys(prefix).ApiKeys);
        var entry = Assert.Single(entries);
        var expected = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(created.Secret)));
        Assert.Equal(expected, (string)entry.Name!);
        Assert.DoesNotContain(created.Secret, (string)entry.Value!);
        Assert.DoesNotContain(created.Secret[5..], (string)entry.Value!);
    }
}

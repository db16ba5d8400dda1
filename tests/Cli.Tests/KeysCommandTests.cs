using Farm.Coordinator.Tenancy;
using Farm.Testing;

namespace Farm.Cli.Tests;

/// <summary>`farm keys` against the real Redis: the key is printed once, listed never, and revoked by id; and what `farm coordinator` does without one.</summary>
[Collection("console")]
public sealed class KeysCommandTests : IDisposable
{
    private readonly string prefix = TestServices.UniqueRedisPrefix("cli-keys");
    private readonly (string?, string?) saved = (Environment.GetEnvironmentVariable("FARM_REDIS"), Environment.GetEnvironmentVariable("FARM_REDIS_PREFIX"));

    public KeysCommandTests()
    {
        Environment.SetEnvironmentVariable("FARM_REDIS", TestServices.Redis);
        Environment.SetEnvironmentVariable("FARM_REDIS_PREFIX", prefix);
    }

    public void Dispose()
    {
        Environment.SetEnvironmentVariable("FARM_REDIS", saved.Item1);
        Environment.SetEnvironmentVariable("FARM_REDIS_PREFIX", saved.Item2);
    }

    [Fact]
    public async Task Create_prints_the_key_alone_list_never_shows_it_and_revoke_removes_it()
    {
        var (code, error, output) = await Cli.RunCapturingOutput("keys", "create", "--tenant", "alice", "--admin");
        Assert.True(code == 0, error);
        var secret = output.Trim();
        Assert.Matches("^farm_[A-Za-z0-9_-]{43}$", secret);
        Assert.Contains("an admin key for tenant alice", error);
        Assert.Contains("shown only now", error);

        var store = new RedisApiKeyStore(await TestServices.ConnectRedisAsync(), prefix);
        var key = await store.FindAsync(secret);
        Assert.NotNull(key);
        Assert.Equal(("alice", true), (key.Tenant, key.Admin));

        (code, error, output) = await Cli.RunCapturingOutput("keys", "list");
        Assert.True(code == 0, error);
        var lines = output.Trim().Split('\n');
        Assert.Equal(["id", "tenant", "admin", "created"], lines[0].Split(' ', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal([key.Id, "alice", "yes"], lines[1].Split(' ', StringSplitOptions.RemoveEmptyEntries)[..3]);
        Assert.DoesNotContain(secret[5..], output);

        (code, error, output) = await Cli.RunCapturingOutput("keys", "revoke", key.Id);
        Assert.True(code == 0, error);
        Assert.Equal($"revoked {key.Id}", output.Trim());
        Assert.Null(await store.FindAsync(secret));
        (code, error, _) = await Cli.RunCapturingOutput("keys", "revoke", key.Id);
        Assert.Equal(2, code);
        Assert.Equal($"farm keys revoke: no key '{key.Id}' (./farm keys list shows them)", error.Trim());
    }

    [Fact]
    public async Task The_coordinator_on_a_public_address_with_no_key_exits_2_saying_how_to_make_one()
    {
        var rabbit = Environment.GetEnvironmentVariable("FARM_RABBITMQ_URL");
        Environment.SetEnvironmentVariable("FARM_RABBITMQ_URL", TestServices.RabbitMqUrl.ToString());
        try
        {
            var (code, error, output) = await Cli.RunCapturingOutput("coordinator", "--urls", "http://0.0.0.0:0");
            Assert.Equal(2, code);
            Assert.StartsWith("farm coordinator: not starting: the coordinator would listen on http://0.0.0.0:0, beyond this machine, and no API key exists", error.Trim());
            Assert.Contains("./farm keys create --tenant NAME --admin", error);
            Assert.Contains("FARM_AUTH=off", error);
            Assert.DoesNotContain("listening", output);
        }
        finally
        {
            Environment.SetEnvironmentVariable("FARM_RABBITMQ_URL", rabbit);
        }
    }

    [Fact]
    public async Task A_bad_tenant_name_is_one_line_and_exit_code_2()
    {
        var (code, error, output) = await Cli.RunCapturingOutput("keys", "create", "--tenant", "two words");
        Assert.Equal(2, code);
        Assert.StartsWith("farm keys create: 'two words' is not a tenant name", error.Trim());
        Assert.Equal("", output);
        Assert.False(await new RedisApiKeyStore(await TestServices.ConnectRedisAsync(), prefix).AnyAsync());
    }
}

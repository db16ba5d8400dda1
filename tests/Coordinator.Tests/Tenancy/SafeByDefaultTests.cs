using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;
using Farm.Coordinator.Api;
using Farm.Coordinator.Tenancy;
using Farm.Shared.Contracts;
using Xunit;

namespace Farm.Coordinator.Tests.Tenancy;

/// <summary>Without keys the coordinator serves loopback only; beyond it, it needs a key or an explicit FARM_AUTH=off.</summary>
public sealed class SafeByDefaultTests
{
    private const string Spec = """{"model":"tiny","prompts":["a fox"],"seeds":[1],"width":64,"height":64}""";

    [Theory]
    [InlineData("http://0.0.0.0:{port}")]
    [InlineData("http://*:{port}")]
    [InlineData("http://[::]:{port}")]
    public async Task Beyond_loopback_with_no_key_it_refuses_to_start_and_says_what_to_do(string url)
    {
        var port = FreePort();
        var refused = await Assert.ThrowsAsync<OpenAccessRefusedException>(() => TenantCoordinator.StartAsync("public", urls: url.Replace("{port}", port.ToString())));
        Assert.Contains("no API key exists", refused.Message);
        Assert.Contains("./farm keys create --tenant NAME --admin", refused.Message);
        Assert.Contains("FARM_AUTH=off", refused.Message);
        // It refused before listening: nothing ever took the port.
        using var probe = new TcpListener(IPAddress.Any, port);
        probe.Start();
    }

    [Fact]
    public async Task Beyond_loopback_with_a_key_it_starts_and_every_request_needs_a_key()
    {
        string? secret = null;
        await using var coordinator = await TenantCoordinator.StartAsync("public-keyed", urls: $"http://0.0.0.0:{FreePort()}",
            prepare: async keys => secret = (await keys.CreateAsync("alice", admin: false, DateTimeOffset.UtcNow)).Secret);
        using var nobody = coordinator.Client(null);
        using var alice = coordinator.Client(secret);
        Assert.Equal(HttpStatusCode.Unauthorized, (await nobody.GetAsync("v1/sweeps")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await alice.GetAsync("v1/sweeps")).StatusCode);
        // The last key revoked: beyond loopback, that does not open the coordinator.
        Assert.True(await coordinator.Keys.RevokeAsync((await coordinator.Keys.ListAsync()).Single().Id));
        Assert.Equal(HttpStatusCode.Unauthorized, (await nobody.GetAsync("v1/sweeps")).StatusCode);
    }

    [Fact]
    public async Task Beyond_loopback_FARM_AUTH_off_serves_without_keys_on_purpose()
    {
        await using var coordinator = await TenantCoordinator.StartAsync("public-open", new Dictionary<string, string?> { ["Auth:Mode"] = "off" }, $"http://0.0.0.0:{FreePort()}");
        using var nobody = coordinator.Client(null);
        Assert.Equal(HttpStatusCode.Accepted, (await nobody.PostAsync("v1/sweeps", new StringContent(Spec, Encoding.UTF8, "application/json"))).StatusCode);
        Assert.Single((await nobody.GetFromJsonAsync<List<SweepStatus>>("v1/sweeps", FarmJson.Options))!);
        Assert.Contains(coordinator.Logs, line => line.Contains("FARM_AUTH=off") && line.StartsWith("Warning"));
    }

    [Fact]
    public async Task On_loopback_with_no_key_it_is_open_until_the_first_key_is_made()
    {
        await using var coordinator = await TenantCoordinator.StartAsync("loopback");
        using var nobody = coordinator.Client(null);
        // A stale FARM_API_KEY sent to a keyless coordinator does no harm (the demo and quick start keep working).
        using var stale = coordinator.Client("farm_stale");
        Assert.Equal(HttpStatusCode.Accepted, (await nobody.PostAsync("v1/sweeps", new StringContent(Spec, Encoding.UTF8, "application/json"))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await stale.GetAsync("v1/sweeps")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await nobody.GetAsync("v1/workers")).StatusCode);
        var listed = Assert.Single((await nobody.GetFromJsonAsync<List<SweepStatus>>("v1/sweeps", FarmJson.Options))!);
        Assert.Equal("anonymous", listed.Tenant);

        var secret = await coordinator.CreateKeyAsync("alice");
        Assert.Equal(HttpStatusCode.Unauthorized, (await nobody.GetAsync("v1/sweeps")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await stale.GetAsync("v1/sweeps")).StatusCode);
        using var alice = coordinator.Client(secret);
        // The keyless sweep belongs to no tenant: alice does not see it.
        Assert.Equal(HttpStatusCode.NotFound, (await alice.GetAsync($"v1/sweeps/{listed.Id}")).StatusCode);
    }

    [Fact]
    public async Task An_unknown_FARM_AUTH_value_or_a_zero_limit_stops_the_start_naming_the_setting()
    {
        var error = await Assert.ThrowsAnyAsync<Exception>(() => TenantCoordinator.StartAsync("bad-auth", new Dictionary<string, string?> { ["Auth:Mode"] = "maybe" }));
        Assert.Contains("Auth:Mode (FARM_AUTH) must be auto, on or off, got 'maybe'", error.Message);
        error = await Assert.ThrowsAnyAsync<Exception>(() => TenantCoordinator.StartAsync("bad-limit", new Dictionary<string, string?> { ["Tenants:RequestsPerSecond"] = "0" }));
        Assert.Contains("Tenants:RequestsPerSecond must be ≥ 1", error.Message);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

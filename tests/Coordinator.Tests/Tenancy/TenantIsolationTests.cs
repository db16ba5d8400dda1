using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Farm.Coordinator.Api;
using Farm.Shared.Contracts;
using Xunit;

namespace Farm.Coordinator.Tests.Tenancy;

/// <summary>Two tenants and an admin on one coordinator: every route that names a sweep keeps it to its tenant.</summary>
public sealed class TenantIsolationTests : IAsyncLifetime
{
    private const string Spec = """{"model":"tiny","prompts":["a fox"],"seeds":[1,2],"width":64,"height":64}""";
    private TenantCoordinator coordinator = null!;
    private HttpClient alice = null!, bob = null!, admin = null!, nobody = null!;
    private string aliceKey = null!;

    public async Task InitializeAsync()
    {
        coordinator = await TenantCoordinator.StartAsync("tenants");
        aliceKey = await coordinator.CreateKeyAsync("alice");
        alice = coordinator.Client(aliceKey);
        bob = coordinator.Client(await coordinator.CreateKeyAsync("bob"));
        admin = coordinator.Client(await coordinator.CreateKeyAsync("ops", admin: true));
        nobody = coordinator.Client(null);
    }

    public async Task DisposeAsync()
    {
        foreach (var http in new[] { alice, bob, admin, nobody }) http.Dispose();
        await coordinator.DisposeAsync();
    }

    private static async Task<SweepAccepted> SubmitAsync(HttpClient http, string? idempotencyKey = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/sweeps") { Content = new StringContent(Spec, Encoding.UTF8, "application/json") };
        if (idempotencyKey is not null) request.Headers.Add("Idempotency-Key", idempotencyKey);
        using var response = await http.SendAsync(request);
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, $"{response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        return (await response.Content.ReadFromJsonAsync<SweepAccepted>(FarmJson.Options))!;
    }

    private static async Task<HttpStatusCode> StatusCodeAsync(HttpClient http, HttpMethod method, string path)
    {
        using var response = await http.SendAsync(new HttpRequestMessage(method, path), HttpCompletionOption.ResponseHeadersRead);
        return response.StatusCode;
    }

    [Fact]
    public async Task Another_tenants_sweep_is_404_on_every_route_and_absent_from_its_list()
    {
        var sweep = await SubmitAsync(alice);
        // Finished, so it has a contact sheet URL to leak.
        await coordinator.Store.CompleteImagesAsync(sweep.Id, 0, [0, 1], "w1", DateTimeOffset.UtcNow);
        var own = (await alice.GetFromJsonAsync<SweepStatus>($"v1/sweeps/{sweep.Id}", FarmJson.Options))!;
        Assert.Equal("completed", own.State);
        Assert.NotNull(own.ContactSheetUrl);
        Assert.Equal("alice", own.Tenant);

        foreach (var (method, path) in new[]
        {
            (HttpMethod.Get, $"v1/sweeps/{sweep.Id}"), (HttpMethod.Get, $"v1/sweeps/{sweep.Id}/images"),
            (HttpMethod.Get, $"v1/sweeps/{sweep.Id}/images?state=completed"), (HttpMethod.Get, $"v1/sweeps/{sweep.Id}/events"),
            (HttpMethod.Get, $"v1/sweeps/{sweep.Id}/grids"), (HttpMethod.Get, $"v1/sweeps/{sweep.Id}/images/1"),
            (HttpMethod.Delete, $"v1/sweeps/{sweep.Id}"), (HttpMethod.Post, $"v1/sweeps/{sweep.Id}/pause"),
            (HttpMethod.Post, $"v1/sweeps/{sweep.Id}/resume"), (HttpMethod.Post, $"v1/sweeps/{sweep.Id}/retry"),
        })
        {
            Assert.Equal(HttpStatusCode.NotFound, await StatusCodeAsync(bob, method, path));
            if (method == HttpMethod.Get) Assert.Equal(HttpStatusCode.OK, await StatusCodeAsync(admin, method, path));
        }
        using (var reprioritise = await bob.PatchAsJsonAsync($"v1/sweeps/{sweep.Id}", new { priority = 90 }))
            Assert.Equal(HttpStatusCode.NotFound, reprioritise.StatusCode);
        // Bob's cancel, pause and priority did nothing.
        Assert.Equal(50, (await alice.GetFromJsonAsync<SweepStatus>($"v1/sweeps/{sweep.Id}", FarmJson.Options))!.Priority);
        Assert.Equal("completed", (await alice.GetFromJsonAsync<SweepStatus>($"v1/sweeps/{sweep.Id}", FarmJson.Options))!.State);

        var bobs = await bob.GetStringAsync("v1/sweeps?limit=200");
        Assert.Equal("[]", bobs);
        Assert.DoesNotContain(sweep.Id, bobs);
        var alices = (await alice.GetFromJsonAsync<List<SweepStatus>>("v1/sweeps", FarmJson.Options))!;
        Assert.Equal([sweep.Id], alices.Select(s => s.Id));
        Assert.Contains(sweep.Id, await admin.GetStringAsync("v1/sweeps?limit=200"));

        var images = (await alice.GetFromJsonAsync<ImagePage>($"v1/sweeps/{sweep.Id}/images", FarmJson.Options))!;
        Assert.All(images.Items, i => Assert.NotNull(i.Url));
    }

    [Fact]
    public async Task A_tenant_streams_and_cancels_its_own_sweep()
    {
        var sweep = await SubmitAsync(bob);
        using (var events = await bob.GetAsync($"v1/sweeps/{sweep.Id}/events", HttpCompletionOption.ResponseHeadersRead))
        {
            Assert.Equal(HttpStatusCode.OK, events.StatusCode);
            using var reader = new StreamReader(await events.Content.ReadAsStreamAsync());
            Assert.Equal("event: status", await reader.ReadLineAsync());
        }
        Assert.Equal(HttpStatusCode.NotFound, await StatusCodeAsync(alice, HttpMethod.Delete, $"v1/sweeps/{sweep.Id}"));
        Assert.Equal("queued", (await bob.GetFromJsonAsync<SweepStatus>($"v1/sweeps/{sweep.Id}", FarmJson.Options))!.State);
        Assert.Equal(HttpStatusCode.Accepted, await StatusCodeAsync(bob, HttpMethod.Delete, $"v1/sweeps/{sweep.Id}"));
        Assert.Equal("cancelled", (await bob.GetFromJsonAsync<SweepStatus>($"v1/sweeps/{sweep.Id}", FarmJson.Options))!.State);
    }

    [Fact]
    public async Task An_idempotency_key_never_returns_another_tenants_sweep()
    {
        var first = await SubmitAsync(alice, "same-key");
        var other = await SubmitAsync(bob, "same-key");
        Assert.NotEqual(first.Id, other.Id);
        Assert.Equal(first.Id, (await SubmitAsync(alice, "same-key")).Id);
        Assert.Equal(HttpStatusCode.NotFound, await StatusCodeAsync(bob, HttpMethod.Get, $"v1/sweeps/{first.Id}"));
    }

    [Fact]
    public async Task Workers_are_for_admin_keys_only()
    {
        Assert.Equal(HttpStatusCode.Forbidden, await StatusCodeAsync(alice, HttpMethod.Get, "v1/workers"));
        var workers = (await admin.GetFromJsonAsync<List<WorkerHeartbeat>>("v1/workers", FarmJson.Options))!;
        Assert.Equal(["w1"], workers.Select(w => w.WorkerId));
    }

    [Fact]
    public async Task A_missing_unknown_or_malformed_key_gets_401_with_a_problem_detail()
    {
        using var unknown = coordinator.Client("farm_not-a-real-key");
        using var basic = coordinator.Client(null);
        basic.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Basic", "YTpi");
        foreach (var http in new[] { nobody, unknown, basic })
            foreach (var path in new[] { "v1/sweeps", "v1/workers", "v1/sweeps/sw-000000000000" })
            {
                using var response = await http.GetAsync(path);
                Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
                Assert.Equal("Bearer", response.Headers.WwwAuthenticate.Single().Scheme);
                Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
                var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
                Assert.Equal(401, problem.GetProperty("status").GetInt32());
                Assert.Contains("API key", problem.GetProperty("title").GetString());
            }
        using var post = await nobody.PostAsync("v1/sweeps", new StringContent(Spec, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Unauthorized, post.StatusCode);
        Assert.Empty(await coordinator.Store.ListSweepIdsAsync(10));
        // Health and the status page stay open: they show no sweep.
        Assert.Equal(HttpStatusCode.OK, await StatusCodeAsync(nobody, HttpMethod.Get, "healthz/live"));
        Assert.Equal(HttpStatusCode.OK, await StatusCodeAsync(nobody, HttpMethod.Get, ""));
    }

    [Fact]
    public async Task A_revoked_key_is_refused_on_the_very_next_request()
    {
        var secret = await coordinator.CreateKeyAsync("carol");
        using var carol = coordinator.Client(secret);
        Assert.Equal(HttpStatusCode.OK, await StatusCodeAsync(carol, HttpMethod.Get, "v1/sweeps"));
        var id = (await coordinator.Keys.ListAsync()).Single(k => k.Tenant == "carol").Id;
        Assert.True(await coordinator.Keys.RevokeAsync(id));
        Assert.Equal(HttpStatusCode.Unauthorized, await StatusCodeAsync(carol, HttpMethod.Get, "v1/sweeps"));
    }

    [Fact]
    public async Task Revoking_a_key_ends_its_open_event_stream()
    {
        var secret = await coordinator.CreateKeyAsync("erin");
        using var erin = coordinator.Client(secret);
        var sweep = await SubmitAsync(erin);
        using var events = await erin.GetAsync($"v1/sweeps/{sweep.Id}/events", HttpCompletionOption.ResponseHeadersRead);
        using var reader = new StreamReader(await events.Content.ReadAsStreamAsync());
        Assert.Equal("event: status", await reader.ReadLineAsync());
        await coordinator.Keys.RevokeAsync((await coordinator.Keys.ListAsync()).Single(k => k.Tenant == "erin").Id);
        // The queued sweep would stream a status every second for ever; the revoke ends it at the next one.
        var rest = await reader.ReadToEndAsync().WaitAsync(TimeSpan.FromSeconds(10));
        Assert.True(rest.Split("event: status").Length <= 3, rest);
    }

    [Fact]
    public async Task No_key_appears_in_the_logs()
    {
        await SubmitAsync(alice);
        await StatusCodeAsync(alice, HttpMethod.Get, "v1/workers");
        using var revoked = coordinator.Client(await coordinator.CreateKeyAsync("dave"));
        var secret = revoked.DefaultRequestHeaders.Authorization!.Parameter!;
        await coordinator.Keys.RevokeAsync((await coordinator.Keys.ListAsync()).Single(k => k.Tenant == "dave").Id);
        await StatusCodeAsync(revoked, HttpMethod.Get, "v1/sweeps");
        Assert.NotEmpty(coordinator.Logs);
        foreach (var key in new[] { aliceKey, secret })
            Assert.DoesNotContain(coordinator.Logs, line => line.Contains(key[5..], StringComparison.Ordinal));
    }
}

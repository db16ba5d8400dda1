using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Xunit;

namespace Farm.Coordinator.Tests.Tenancy;

/// <summary>Per-tenant limits: queued images and requests per second, each a 429 with a problem detail, one tenant's use never another's.</summary>
public sealed class TenantLimitTests
{
    private static StringContent Spec(int seeds) =>
        new($$"""{"model":"tiny","prompts":["a fox"],"seeds":[{{string.Join(",", Enumerable.Range(1, seeds))}}],"width":64,"height":64}""", Encoding.UTF8, "application/json");

    [Fact]
    public async Task A_sweep_that_would_pass_the_queued_image_limit_gets_429_until_images_finish()
    {
        await using var coordinator = await TenantCoordinator.StartAsync("queued", new Dictionary<string, string?>
        {
            ["Tenants:MaxQueuedImages"] = "5",
            ["Tenants:Overrides:bob:MaxQueuedImages"] = "1",
        });
        using var alice = coordinator.Client(await coordinator.CreateKeyAsync("alice"));
        using var bob = coordinator.Client(await coordinator.CreateKeyAsync("bob"));
        using var carol = coordinator.Client(await coordinator.CreateKeyAsync("carol"));

        using var first = await alice.PostAsync("v1/sweeps", Spec(4));
        Assert.Equal(HttpStatusCode.Accepted, first.StatusCode);
        var id = (await first.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
        using var over = await alice.PostAsync("v1/sweeps", Spec(2));
        Assert.Equal(HttpStatusCode.TooManyRequests, over.StatusCode);
        Assert.Equal("application/problem+json", over.Content.Headers.ContentType?.MediaType);
        var problem = await over.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("This tenant has 4 images queued and may have 5; this sweep adds 2. Wait for sweeps to finish, or cancel some.", problem.GetProperty("detail").GetString());
        Assert.Equal(HttpStatusCode.Accepted, (await alice.PostAsync("v1/sweeps", Spec(1))).StatusCode);

        // Another tenant has its own budget; an override narrows one tenant's.
        Assert.Equal(HttpStatusCode.Accepted, (await carol.PostAsync("v1/sweeps", Spec(5))).StatusCode);
        Assert.Equal(HttpStatusCode.TooManyRequests, (await bob.PostAsync("v1/sweeps", Spec(2))).StatusCode);

        // Finished images leave the queue.
        await coordinator.Store.CompleteImagesAsync(id, 0, [0, 1, 2, 3], "w1", DateTimeOffset.UtcNow);
        Assert.Equal(HttpStatusCode.Accepted, (await alice.PostAsync("v1/sweeps", Spec(4))).StatusCode);
    }

    [Fact]
    public async Task Requests_past_the_tenants_rate_get_429_with_Retry_After_and_other_tenants_are_not_slowed()
    {
        await using var coordinator = await TenantCoordinator.StartAsync("rate", new Dictionary<string, string?> { ["Tenants:RequestsPerSecond"] = "3" });
        using var alice = coordinator.Client(await coordinator.CreateKeyAsync("alice"));
        using var bob = coordinator.Client(await coordinator.CreateKeyAsync("bob"));

        var codes = new List<HttpStatusCode>();
        HttpResponseMessage? limited = null;
        for (var i = 0; i < 10 && limited is null; i++)
        {
            var response = await alice.GetAsync("v1/sweeps");
            codes.Add(response.StatusCode);
            if (response.StatusCode == HttpStatusCode.TooManyRequests) limited = response;
            else response.Dispose();
        }
        Assert.NotNull(limited);
        using (limited)
        {
            // A bucket of 3 tokens: the first three pass (unless a second went by, which refills it).
            Assert.True(codes.Count >= 4, string.Join(", ", codes));
            var retry = limited!.Headers.RetryAfter?.Delta;
            Assert.NotNull(retry);
            Assert.InRange(retry!.Value.TotalSeconds, 1, 2);
            Assert.Equal("application/problem+json", limited.Content.Headers.ContentType?.MediaType);
            Assert.Equal(429, (await limited.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("status").GetInt32());
        }
        Assert.Equal(HttpStatusCode.OK, (await bob.GetAsync("v1/sweeps")).StatusCode);
        await Task.Delay(TimeSpan.FromSeconds(1.2));
        Assert.Equal(HttpStatusCode.OK, (await alice.GetAsync("v1/sweeps")).StatusCode);
    }
}

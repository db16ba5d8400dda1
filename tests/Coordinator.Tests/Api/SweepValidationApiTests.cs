using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Farm.Infrastructure;
using Farm.Infrastructure.Progress;
using Farm.Infrastructure.Storage;
using Farm.Shared.Contracts;
using MassTransit;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Xunit;

namespace Farm.Coordinator.Tests.Api;

/// <summary>POST /v1/sweeps as a client meets it: a spec with several mistakes is answered with all of them at once.</summary>
public sealed class SweepValidationApiTests : IAsyncLifetime
{
    private readonly string bucket = Directory.CreateTempSubdirectory("farm-api-").FullName;
    private readonly InMemoryProgressStore store = new();
    private WebApplication app = null!;
    private HttpClient http = null!;

    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Services.AddSingleton<IProgressStore>(store);
        builder.Services.AddSingleton<IObjectStore>(new FolderObjectStore(bucket));
        builder.Services.AddFarmCoordinator(new CoordinatorOptions(), new S3Options());
        builder.Services.AddMassTransit(x => x.UsingInMemory());
        app = builder.Build();
        app.MapFarmCoordinator();
        await app.StartAsync();
        http = new HttpClient { BaseAddress = new Uri(app.Urls.First().TrimEnd('/') + "/") };
        var now = DateTimeOffset.UtcNow;
        await store.HeartbeatAsync(new WorkerHeartbeat("w1", "host", "cpu", ["tiny"], 0, null, now, now));
    }

    public async Task DisposeAsync()
    {
        http.Dispose();
        await app.StopAsync();
        await app.DisposeAsync();
        Directory.Delete(bucket, recursive: true);
    }

    [Fact]
    public async Task A_spec_with_an_empty_prompt_a_bad_width_and_an_unknown_scheduler_gets_all_three_errors_in_one_problem()
    {
        const string spec = """
            model: tiny
            prompts: [""]
            seeds: [1, 2]
            width: 60
            scheduler: foo
            """;
        using var response = await http.PostAsync("v1/sweeps", new StringContent(spec, Encoding.UTF8, "application/yaml"));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        var errors = problem.GetProperty("errors").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.EnumerateArray().Select(v => v.GetString()!).ToArray());
        Assert.Equal(["prompts[0]", "scheduler", "width"], errors.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(["must not be empty"], errors["prompts[0]"]);
        Assert.Contains("multiple of 8", Assert.Single(errors["width"]));
        Assert.Contains("unknown scheduler 'foo'", Assert.Single(errors["scheduler"]));
        // The problem lists them in the spec's field order, the order the CLI prints them in.
        Assert.Equal(["prompts[0]", "scheduler", "width"], errors.Keys);
    }

    [Fact]
    public async Task A_valid_spec_is_still_accepted()
    {
        using var response = await http.PostAsync("v1/sweeps", new StringContent("""{"model":"tiny","prompts":["a fox"],"seeds":[1],"width":64,"height":64}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
    }

    [Fact]
    public async Task LoRAs_and_embeddings_no_live_worker_has_are_refused_naming_the_field_and_known_ones_pass()
    {
        var now = DateTimeOffset.UtcNow;
        await store.HeartbeatAsync(new WorkerHeartbeat("w1", "host", "cpu", ["tiny"], 0, null, now, now,
            Adapters: new WorkerAdapters(["style"], ["easynegative"])));
        await Task.Delay(1100); // the coordinator's view of the workers is cached for a second
        using var refused = await http.PostAsync("v1/sweeps", new StringContent(
            """{"model":"tiny","prompts":["a"],"seeds":[1],"width":64,"height":64,"loras":[{"name":"style","scale":1},{"name":"nope","scale":[0,1]}],"embeddings":["easynegative","gone"]}""",
            Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        var errors = (await refused.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors");
        Assert.Contains("the LoRA 'nope'", errors.GetProperty("loras[1].name")[0].GetString());
        Assert.Contains("the embedding 'gone'", errors.GetProperty("embeddings")[0].GetString());
        Assert.False(errors.TryGetProperty("loras[0].name", out _));

        using var accepted = await http.PostAsync("v1/sweeps", new StringContent(
            """{"model":"tiny","prompts":["a"],"seeds":[1],"width":64,"height":64,"loras":[{"name":"style","scale":1}],"embeddings":["easynegative"]}""",
            Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
    }
}

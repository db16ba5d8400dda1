using System.Text.Json;
using Farm.Coordinator;
using Farm.Infrastructure;
using Farm.Infrastructure.Progress;
using Farm.Infrastructure.Storage;
using Farm.Shared.Contracts;
using MassTransit;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Farm.Cli.Tests;

/// <summary>`submit --json` and `status --json` against an in-process coordinator (in-memory stores, a heartbeat for 'tiny', no worker).</summary>
[Collection("console")]
public sealed class JsonOutputTests : IAsyncLifetime
{
    private readonly string folder = Directory.CreateTempSubdirectory("farm-json-").FullName;
    private readonly InMemoryProgressStore store = new();
    private WebApplication app = null!;

    private string Url => app.Urls.First();

    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Services.AddSingleton<IProgressStore>(store);
        builder.Services.AddSingleton<IObjectStore>(new FolderObjectStore(Path.Combine(folder, "bucket")));
        builder.Services.AddFarmCoordinator(new CoordinatorOptions(), new S3Options());
        builder.Services.AddMassTransit(x => x.UsingInMemory());
        app = builder.Build();
        app.MapFarmCoordinator();
        await app.StartAsync();
        var now = DateTimeOffset.UtcNow;
        await store.HeartbeatAsync(new WorkerHeartbeat("w1", "host", "cpu", ["tiny"], 0, null, now, now));
    }

    public async Task DisposeAsync()
    {
        await app.StopAsync();
        await app.DisposeAsync();
        Directory.Delete(folder, recursive: true);
    }

    [Fact]
    public async Task Submit_and_status_print_one_json_document_each()
    {
        var spec = Path.Combine(folder, "spec.yaml");
        await File.WriteAllTextAsync(spec, "model: tiny\nprompts: [a fox, a cat]\nseeds: [1, 2, 3]\nwidth: 64\nheight: 64\n");
        var (code, error, output) = await Cli.RunCapturingOutput("submit", spec, "--json", "--coordinator", Url);
        Assert.True(code == 0, error);
        var accepted = JsonDocument.Parse(output).RootElement;
        Assert.Equal(6, accepted.GetProperty("images").GetInt64());
        var id = accepted.GetProperty("id").GetString()!;

        (code, error, output) = await Cli.RunCapturingOutput("status", id, "--json", "--coordinator", Url);
        Assert.True(code == 0, error);
        var status = JsonDocument.Parse(output).RootElement;
        Assert.Equal(id, status.GetProperty("id").GetString());
        Assert.Equal("tiny", status.GetProperty("model").GetString());
        Assert.Equal(6, status.GetProperty("images").GetProperty("total").GetInt64());
    }

    [Fact]
    public async Task Without_json_the_output_stays_for_people()
    {
        var spec = Path.Combine(folder, "spec.yaml");
        await File.WriteAllTextAsync(spec, "model: tiny\nprompts: [a fox]\nseeds: [1]\nwidth: 64\nheight: 64\n");
        var (code, error, output) = await Cli.RunCapturingOutput("submit", spec, "--coordinator", Url);
        Assert.True(code == 0, error);
        Assert.Matches(@"^sweep sw-[0-9a-f]+: 1 images in 1 jobs", output);
    }

    [Fact]
    public async Task A_rejected_spec_prints_every_error_one_per_line()
    {
        var spec = Path.Combine(folder, "bad.yaml");
        await File.WriteAllTextAsync(spec, "model: tiny\nprompts: [\"\"]\nseeds: [1]\nwidth: 60\nscheduler: foo\n");
        var (code, error) = await Cli.Run("submit", spec, "--coordinator", Url);
        Assert.Equal(2, code);
        var lines = error.Trim().Split('\n').Select(l => l.TrimEnd('\r')).ToArray();
        Assert.Equal("farm submit: the coordinator rejected the spec (3 errors):", lines[0]);
        Assert.Equal("prompts[0]: must not be empty", lines[1]);
        Assert.StartsWith("scheduler: unknown scheduler 'foo'", lines[2]);
        Assert.StartsWith("width: must be a multiple of 8", lines[3]);
    }
}

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

/// <summary>The commands that talk to a coordinator (submit, status, pause, resume, priority, retry), against one in this process (in-memory stores, a heartbeat for 'tiny', no worker).</summary>
[Collection("console")]
public sealed class ClientCommandTests : IAsyncLifetime
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
    public async Task Fetch_with_grids_downloads_every_listed_grid_into_a_grids_folder()
    {
        var spec = Path.Combine(folder, "spec.yaml");
        await File.WriteAllTextAsync(spec, "model: tiny\nprompts: [a fox]\nseeds: [1]\nwidth: 64\nheight: 64\n");
        var (code, error, output) = await Cli.RunCapturingOutput("submit", spec, "--json", "--coordinator", Url);
        Assert.True(code == 0, error);
        var id = JsonDocument.Parse(output).RootElement.GetProperty("id").GetString()!;
        var outDir = Path.Combine(folder, "out");
        (code, error, output) = await Cli.RunCapturingOutput("fetch", id, "--out", outDir, "--grids", "--coordinator", Url);
        Assert.True(code == 0, error);
        Assert.Contains("no grids", output);

        // As the worker that finishes the sweep stores them.
        var bucket = new FolderObjectStore(Path.Combine(folder, "bucket"));
        await bucket.PutAsync(Farm.Shared.Layout.StorageKeys.Grid(id, 0, 0), new byte[] { 1, 2, 3 }, "image/png");
        await bucket.PutAsync(Farm.Shared.Layout.StorageKeys.Grid(id, 1, 0), new byte[] { 4, 5 }, "image/png");
        (code, error, output) = await Cli.RunCapturingOutput("fetch", id, "--out", outDir, "--grids", "--coordinator", Url);
        Assert.True(code == 0, error);
        Assert.Contains("fetched 2 grid(s)", output);
        Assert.Equal([1, 2, 3], await File.ReadAllBytesAsync(Path.Combine(outDir, "grids", "0-0.png")));
        Assert.Equal([4, 5], await File.ReadAllBytesAsync(Path.Combine(outDir, "grids", "1-0.png")));
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

    [Fact]
    public async Task Pause_priority_resume_and_retry_change_the_sweep_and_say_so()
    {
        var spec = Path.Combine(folder, "spec.yaml");
        await File.WriteAllTextAsync(spec, "model: tiny\nprompts: [a fox]\nseeds: [1, 2]\nwidth: 64\nheight: 64\n");
        var (code, error, output) = await Cli.RunCapturingOutput("submit", spec, "--json", "--coordinator", Url);
        Assert.True(code == 0, error);
        var id = JsonDocument.Parse(output).RootElement.GetProperty("id").GetString()!;

        (code, error, output) = await Cli.RunCapturingOutput("pause", id, "--coordinator", Url);
        Assert.True(code == 0, error);
        Assert.Equal($"sweep {id}: paused, priority 50, 0/2 images", output.Trim());
        (code, error, output) = await Cli.RunCapturingOutput("priority", id, "80", "--coordinator", Url);
        Assert.True(code == 0, error);
        Assert.Equal($"sweep {id}: paused, priority 80, 0/2 images", output.Trim());
        (code, error, output) = await Cli.RunCapturingOutput("resume", id, "--coordinator", Url);
        Assert.True(code == 0, error);
        Assert.StartsWith($"sweep {id}: queued, priority 80", output.Trim());

        await store.FailImagesAsync(id, 0, [1], "boom", "w1", DateTimeOffset.UtcNow);
        (code, error, output) = await Cli.RunCapturingOutput("retry", id, "--coordinator", Url);
        Assert.True(code == 0, error);
        Assert.StartsWith($"sweep {id}: 1 failed images queued again", output.Trim());
        Assert.Equal(0, (await store.GetSweepAsync(id))!.Failed);

        Assert.Equal(2, (await Cli.Run("priority", id, "101", "--coordinator", Url)).Code);
        var (missing, message) = await Cli.Run("pause", "sw-000000000000", "--coordinator", Url);
        Assert.Equal((2, "farm pause: no sweep 'sw-000000000000'"), (missing, message.Trim()));
    }

    [Fact]
    public async Task A_dry_run_prints_the_estimate_and_creates_nothing()
    {
        var spec = Path.Combine(folder, "dry.yaml");
        await File.WriteAllTextAsync(spec, "model: tiny\nprompts: [a fox]\nseeds: { start: 0, count: 10 }\nsteps: 20\nwidth: 512\nheight: 512\n");
        var (code, error, output) = await Cli.RunCapturingOutput("submit", spec, "--dry-run", "--coordinator", Url);
        Assert.True(code == 0, error);
        Assert.StartsWith("dry run, nothing created: 10 images in", output);
        Assert.Contains("tiny: no measurement yet", output);

        // 10 images × 0.262144 MP × 20 steps = 52.4 megapixel-steps; at 0.5 s each, 26 s on the one live pipeline.
        await store.RecordRenderSpeedAsync("tiny", 0.5);
        (code, error, output) = await Cli.RunCapturingOutput("submit", spec, "--dry-run", "--coordinator", Url);
        Assert.True(code == 0, error);
        Assert.Contains("about 26 s of rendering, done in about 26 s with the workers alive now", output);
        Assert.Empty(await store.ListSweepIdsAsync(10));
    }

    [Fact]
    public async Task Submit_uploads_a_local_init_image_named_relative_to_the_spec_and_submits_its_asset_id()
    {
        Directory.CreateDirectory(Path.Combine(folder, "photos"));
        Directory.CreateDirectory(Path.Combine(folder, "specs"));
        await File.WriteAllBytesAsync(Path.Combine(folder, "photos", "photo.jpg"), Farm.Testing.TestImages.Encode(SkiaSharp.SKEncodedImageFormat.Jpeg, 96, 64));
        var spec = Path.Combine(folder, "specs", "spec.yaml");
        await File.WriteAllTextAsync(spec, "model: tiny\nprompts: [a fox]\nseeds: [1]\ninit: ../photos/photo.jpg\nstrength: [0.3, 0.8]\n");
        var (code, error, output) = await Cli.RunCapturingOutput("submit", spec, "--json", "--coordinator", Url);
        Assert.True(code == 0, error);
        var accepted = JsonDocument.Parse(output).RootElement;
        Assert.Equal(2, accepted.GetProperty("images").GetInt64());

        var stored = Assert.Single(Directory.GetFiles(Path.Combine(folder, "bucket", "assets")));
        var id = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(await File.ReadAllBytesAsync(stored)));
        Assert.Equal($"{id}.png", Path.GetFileName(stored));
        Assert.Contains($"init: uploaded ../photos/photo.jpg as asset {id} (96x64 jpeg)", error);
        var manifest = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(folder, "bucket", "sweeps", accepted.GetProperty("id").GetString()!, "manifest.json")));
        var acceptedSpec = manifest.RootElement.GetProperty("spec");
        Assert.Equal((id, 96, 64), (acceptedSpec.GetProperty("init").GetString(), acceptedSpec.GetProperty("width").GetInt32(), acceptedSpec.GetProperty("height").GetInt32()));
    }

    [Fact]
    public async Task Submit_names_a_missing_or_refused_local_image_and_submits_nothing()
    {
        var spec = Path.Combine(folder, "spec.yaml");
        await File.WriteAllTextAsync(spec, "model: tiny\nprompts: [a fox]\nseeds: [1]\ninit: ./nowhere.png\n");
        var (code, error) = await Cli.Run("submit", spec, "--coordinator", Url);
        Assert.Equal(2, code);
        Assert.Contains($"init: no such file {Path.Combine(folder, "nowhere.png")}", error);

        await File.WriteAllTextAsync(Path.Combine(folder, "notes.png"), "not an image at all");
        await File.WriteAllTextAsync(spec, "model: tiny\nprompts: [a fox]\nseeds: [1]\ninit: notes.png\n");
        (code, error) = await Cli.Run("submit", spec, "--coordinator", Url);
        Assert.Equal(2, code);
        Assert.Contains("init notes.png: the coordinator refused the image: Refused: not a PNG, JPEG or WebP image", error);
        Assert.Empty(await store.ListSweepIdsAsync(10));
    }
}

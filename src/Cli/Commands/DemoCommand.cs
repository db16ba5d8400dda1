using System.CommandLine;
using Farm.Cli.Parsing;
using Farm.Diffusion.Models;
using Farm.Coordinator;
using Farm.Coordinator.Api;
using Farm.GpuWorker;
using Farm.GpuWorker.Consumers;
using Farm.GpuWorker.Progress;
using Farm.GpuWorker.Rendering;
using Farm.Infrastructure;
using Farm.Infrastructure.Hosting;
using Farm.Infrastructure.Progress;
using Farm.Infrastructure.Storage;
using Farm.Shared.Layout;
using MassTransit;
using Serilog;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Farm.Cli.Commands;

/// <summary>
/// `farm demo [--out DIR] [--models DIR]`: the embedded default. A coordinator and two workers (two warm pipelines
/// of the tiny model, each with its own worker id) in one process, over MassTransit's in-memory transport, an
/// in-memory progress store and a folder bucket; renders 2 prompts × 4 seeds through the HTTP API like any client.
/// Logs go to .farm/logs/demo.log, so the terminal shows only the progress; the last lines say what the images are
/// (noise from random weights) and how to render the same sweep with a real checkpoint.
/// </summary>
internal static class DemoCommand
{
    private const string Spec = """
        model: tiny
        prompts:
          - a lighthouse on a cliff at dusk
          - a red fox in the snow
        seeds: [1, 2]
        steps: 12
        guidanceScale: [3, 7.5, 12]
        grid: { x: guidanceScale, y: prompts }
        scheduler: euler-a
        width: 128
        height: 128
        """;

    /// <summary>The demo's sweep for a real SD1.5 checkpoint named sd15: the same prompts, seeds and sampler at its native 512².</summary>
    private static string RealCheckpointSpec => Spec.Replace("model: tiny", "model: sd15").Replace("width: 128", "width: 512").Replace("height: 128", "height: 512") + "\n";

    private const int DemoGrids = 2;  // one prompt × guidance grid per seed of Spec

    // The worker that counts the last image draws the grids one after another just after: wait for them a little
    // (best effort, as they are), then show what is there.
    private static async Task<IReadOnlyList<GridItem>> GridsAsync(FarmClient client, string id, CancellationToken cancellation)
    {
        IReadOnlyList<GridItem> grids = [];
        for (var attempt = 0; attempt < 50; attempt++)
        {
            grids = (await client.GridsAsync(id, cancellation)).Items;
            if (grids.Count >= DemoGrids) return grids;
            await Task.Delay(200, cancellation);
        }
        return grids;
    }

    public static Command Create()
    {
        var outOption = FarmOptions.Text("--out", "the folder bucket the images are written to", "DIR", "renders");
        var modelsOption = FarmOptions.Text("--models", "the models folder (the tiny model is created there if missing)", "DIR", Path.Combine(".farm", "models"));
        var command = new Command("demo", "render a demo sweep on the embedded default: in-process bus, folder bucket, tiny random-weight model")
        {
            outOption, modelsOption,
        };
        command.SetAction((parse, cancellation) => RunAsync(Path.GetFullPath(parse.GetValue(outOption)!), parse.GetValue(modelsOption)!, cancellation));
        return command;
    }

    private static async Task<int> RunAsync(string outDir, string modelsDir, CancellationToken cancellation)
    {

        var tinyDir = Path.Combine(modelsDir, "tiny");
        if (!File.Exists(Path.Combine(tinyDir, "model_index.json")))
        {
            Console.WriteLine($"creating the tiny demo model in {tinyDir} (seeded random weights, no download)");
            TinyModel.Write(tinyDir, TinyModel.DefaultSeed);
        }

        var workerOptions = new WorkerOptions { ModelsDir = modelsDir, Slots = 2, Threads = 1, WorkerId = "demo-worker" };
        var factory = new ModelLibraryRendererFactory(modelsDir, FarmHosting.PipelineOptionsFor(workerOptions));
        var builder = WebApplication.CreateSlimBuilder(HostArgs.NoConfigWatch);
        builder.Logging.AddFilter("Microsoft", LogLevel.Warning).AddFilter("MassTransit", LogLevel.Warning);
        var logPath = Path.GetFullPath(Path.Combine(".farm", "logs", "demo.log"));
        builder.Logging.ClearProviders();
        builder.Logging.AddSerilog(new LoggerConfiguration().MinimumLevel.Verbose().WriteTo.File(logPath, shared: true).CreateLogger(), dispose: true);
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Services.AddSingleton<IProgressStore, InMemoryProgressStore>();
        builder.Services.AddSingleton<IObjectStore>(new FolderObjectStore(outDir));
        builder.Services.AddFarmCoordinator(new CoordinatorOptions { DefaultBatchSize = 2 }, new S3Options());
        builder.Services.AddFarmWorker(workerOptions, factory);
        builder.Services.AddMassTransit(x =>
        {
            x.AddRenderConsumer();
            x.UsingInMemory((ctx, cfg) => cfg.ReceiveEndpoint("render-tiny", e =>
            {
                e.PrefetchCount = workerOptions.Slots;
                e.ConcurrentMessageLimit = workerOptions.Slots;
                e.ConfigureConsumer<RenderJobConsumer>(ctx);
            }));
        });
        await using var app = builder.Build();
        app.MapFarmCoordinator();
        await app.StartAsync(cancellation);
        app.Services.GetRequiredService<HeartbeatService>().Beat();
        await Task.Delay(200, cancellation); // the first heartbeat lands (the coordinator only accepts served models)

        using var client = new FarmClient(new Uri(app.Urls.First().TrimEnd('/') + "/"));
        Console.WriteLine($"coordinator on {app.Urls.First()} with 2 workers of model 'tiny' (in-process bus, folder bucket {outDir})");
        Console.WriteLine($"logs: {logPath}");
        var accepted = await client.SubmitAsync(Spec, null, cancellation);
        Console.WriteLine($"sweep {accepted.Id}: {accepted.Images} images in {accepted.Jobs} jobs");
        var status = await client.WatchAsync(accepted.Id, cancellation);

        var images = Path.Combine(outDir, StorageKeys.ImagesPrefix(accepted.Id));
        var sheet = Path.Combine(outDir, StorageKeys.ContactSheet(accepted.Id));
        Console.WriteLine($"sweep {accepted.Id} {status.State}: {status.Images.Completed} images in {images}");
        if (File.Exists(sheet)) Console.WriteLine($"contact sheet: {sheet}");
        if (await GridsAsync(client, accepted.Id, cancellation) is { Count: > 0 } grids)
            Console.WriteLine($"grids (prompt × guidance scale, one per seed): {string.Join(", ", grids.Select(g => Path.Combine(outDir, g.Key)))}");
        await app.StopAsync(CancellationToken.None);
        var realSpec = Path.Combine(outDir, "demo-sweep.yaml");
        await File.WriteAllTextAsync(realSpec, RealCheckpointSpec, CancellationToken.None);
        Console.WriteLine();
        Console.WriteLine("The bundled 'tiny' model has random weights: the images are noise (and reproducible: same spec, same pixels).");
        Console.WriteLine($"To render the same sweep with a real model, put its diffusers folder at {Path.Combine(modelsDir, "sd15")}, or a checkpoint at "
            + $"{Path.Combine(modelsDir, "sd15.safetensors")} with the base model's diffusers folder (for its tokenizer) at {Path.Combine(modelsDir, "sd15.config")}, then:");
        Console.WriteLine($"  ./farm services start; ./farm coordinator & ./farm worker --models {modelsDir} & ./farm submit {realSpec} --watch");
        return status.State == "completed" ? 0 : 1;
    }
}

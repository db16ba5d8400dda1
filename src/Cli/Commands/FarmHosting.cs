using Farm.Coordinator;
using Farm.GpuWorker;
using Farm.GpuWorker.Models;
using Farm.GpuWorker.Rendering;
using Farm.Infrastructure;
using Farm.Infrastructure.Health;
using Farm.Infrastructure.Hosting;
using Farm.Infrastructure.Logging;
using Farm.Infrastructure.Messaging;
using Farm.Infrastructure.Progress;
using Farm.Infrastructure.Storage;
using Farm.Diffusion.Pipelines;
using Farm.Diffusion.Torch;
using MassTransit;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;


namespace Farm.Cli.Commands;

/// <summary>
/// How the CLI builds the coordinator and worker hosts: against RabbitMQ, Redis and S3 from the FARM_* settings,
/// or embedded (in-memory bus and progress, a folder bucket) for <c>./farm demo</c>.
/// </summary>
internal static class FarmHosting
{
    public static T Bind<T>(IConfiguration configuration, string section) where T : new()
    {
        var options = new T();
        configuration.GetSection(section).Bind(options);
        return options;
    }

    public static WebApplication BuildCoordinator(string[] urls, IReadOnlyDictionary<string, string>? settings = null, bool verbose = false, bool jsonLogs = false)
    {
        var builder = WebApplication.CreateSlimBuilder(HostArgs.NoConfigWatch);
        builder.Configuration.AddFarmSettings(settings);
        builder.Logging.AddFarmConsole(verbose, jsonLogs);
        builder.WebHost.UseUrls(urls);
        var (_, s3) = builder.Services.AddServiceStores(builder.Configuration);
        var rabbit = Bind<RabbitMqOptions>(builder.Configuration, RabbitMqOptions.Section);
        builder.Services.AddFarmCoordinator(Bind<CoordinatorOptions>(builder.Configuration, CoordinatorOptions.Section), s3);
        builder.Services.AddRabbitMqAddress(rabbit.Url).AddQueueDepthProbe(rabbit.Url);
        builder.Services.AddMassTransit(x => x.UsingRabbitMq((ctx, cfg) =>
        {
            RenderTopology.Host(cfg, rabbit.Url);
            RenderTopology.Configure(cfg);
        }));
        var app = builder.Build();
        app.MapFarmCoordinator();
        return app;
    }

    public static IHost BuildWorker(WorkerOptions options, IReadOnlyDictionary<string, string>? settings, bool verbose = false, bool jsonLogs = false)
    {
        var builder = Host.CreateApplicationBuilder(HostArgs.NoConfigWatch);
        builder.Configuration.AddFarmSettings(settings);
        builder.Logging.AddFarmConsole(verbose, jsonLogs);
        try
        {
            options.DrainSeconds = WorkerOptions.DrainSecondsFrom(builder.Configuration["Worker:DrainSeconds"], options.DrainSeconds);
            options.UseFailureSettings(Bind<WorkerOptions>(builder.Configuration, WorkerOptions.Section));
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException)
        {
            throw new UsageException(e.Message);
        }
        var (_, s3) = builder.Services.AddServiceStores(builder.Configuration);
        var rabbit = Bind<RabbitMqOptions>(builder.Configuration, RabbitMqOptions.Section);
        var factory = RendererFactoryFor(options, s3);
        builder.Services.AddFarmWorker(options, factory);
        builder.Services.AddDeadLetterQueueSetup(rabbit.Url, factory.Models);
        builder.Services.AddMassTransit(x =>
        {
            x.AddRenderConsumer();
            x.UsingRabbitMq((ctx, cfg) =>
            {
                RenderTopology.Host(cfg, rabbit.Url);
                WorkerHosting.ConfigureRenderQueues(ctx, cfg, factory.Models, options);
            });
        });
        return builder.Build();
    }

    /// <summary>The engine on the models in --models, or the simulated renderer on the names in --models-served; with any --fault.</summary>
    public static IRendererFactory RendererFactoryFor(WorkerOptions options, S3Options? bucket = null)
    {
        RendererSpec spec;
        List<RenderFault> faults;
        try
        {
            spec = RendererSpec.Parse(options.Renderer);
            faults = options.Faults.Select(RenderFault.Parse).ToList();
        }
        catch (ArgumentException e)
        {
            throw new UsageException(e.Message);
        }
        IRendererFactory factory;
        if (spec.Simulated)
        {
            if (options.ModelsServed.Count == 0)
                throw new UsageException("--renderer simulated needs --models-served NAME[,NAME…]: the model names it answers for (it loads no model file)");
            factory = new SimulatedRendererFactory(options.ModelsServed, spec.StepDelay, options.Device);
        }
        else
        {
            if (options.ModelsServed.Count > 0)
                throw new UsageException("--models-served is for --renderer simulated; the engine serves the models in --models");
            factory = options.ModelsFromBucket
                ? BucketModels(options, bucket ?? new S3Options())
                : new ModelLibraryRendererFactory(options.ModelsDir, PipelineOptionsFor(options));
            if (factory.Models.Count == 0)
                throw new UsageException($"no models in {Path.GetFullPath(options.ModelsDir)}{(options.ModelsFromBucket ? " nor in the bucket" : "")} (a model is a diffusers folder with model_index.json or a .safetensors/.ckpt checkpoint; try ./farm model init-tiny {Path.Combine(options.ModelsDir, "tiny")})");
        }
        return faults.Count == 0 ? factory : new FaultInjectingRendererFactory(factory, faults);
    }

    private static IRendererFactory BucketModels(WorkerOptions options, S3Options s3)
    {
        var bucket = new S3ObjectStore(s3);
        IReadOnlyList<ModelManifest> pushed;
        try
        {
            pushed = ModelCache.ListAsync(bucket, CancellationToken.None, problem => Console.Error.WriteLine($"farm worker: bucket model {problem}")).GetAwaiter().GetResult();
        }
        catch (Exception e)
        {
            throw new UsageException($"--models-from-bucket: cannot list the models in {s3.Url.TrimEnd('/')}/{s3.Bucket}: {e.Message} (is the bucket up? ./farm services start)");
        }
        if (!(options.CacheGigabytes > 0)) throw new UsageException($"--cache-gb must be > 0 (got {options.CacheGigabytes})");
        var cache = new ModelCache(bucket, options.ModelCacheDir, (long)(options.CacheGigabytes * 1e9));
        return new BucketModelRendererFactory(ModelLibrary.Scan(options.ModelsDir), cache, pushed, PipelineOptionsFor(options));
    }

    public static PipelineOptions PipelineOptionsFor(WorkerOptions options) =>
        new() { Device = Device.Parse(options.Device), Threads = options.Threads };
}

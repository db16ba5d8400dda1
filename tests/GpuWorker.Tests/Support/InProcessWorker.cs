using Farm.GpuWorker.Progress;
using Farm.GpuWorker.Rendering;
using Farm.Infrastructure;
using Farm.Testing;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Farm.GpuWorker.Tests.Support;

/// <summary>A worker host in this process on the real services of <paramref name="settings"/>, started and announced.</summary>
internal static class InProcessWorker
{
    public static async Task<IHost> StartAsync(IReadOnlyDictionary<string, string> settings, WorkerOptions options, IRendererFactory factory,
        Action<IServiceCollection>? configure = null)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddFarmSettings(settings);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Services.AddServiceStores(builder.Configuration);
        builder.Services.AddFarmWorker(options, factory);
        configure?.Invoke(builder.Services);
        await WorkerHosting.DeclareDeadLetterQueuesAsync(TestServices.RabbitMqUrl.ToString(), factory.Models, CancellationToken.None);
        builder.Services.AddMassTransit(x =>
        {
            x.AddRenderConsumer();
            x.UsingRabbitMq((ctx, cfg) =>
            {
                TestServices.ConfigureRabbitMq(cfg);
                WorkerHosting.ConfigureRenderQueues(ctx, cfg, factory.Models, options);
            });
        });
        var host = builder.Build();
        await host.StartAsync();
        host.Services.GetRequiredService<HeartbeatService>().Beat();
        return host;
    }
}

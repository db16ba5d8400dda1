using Farm.GpuWorker.Progress;
using Farm.Infrastructure;
using Farm.Testing;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Farm.GpuWorker.Tests.Support;

/// <summary>
/// Worker hosts in this process on the real services, rendering with <see cref="TestDoubleRendererFactory"/> (each
/// step takes <see cref="StepDelay"/>), for tests of the farm's messaging and scheduling.
/// </summary>
internal sealed class InProcessWorkers(IReadOnlyDictionary<string, string> settings, string model) : IAsyncDisposable
{
    private readonly List<IHost> hosts = [];

    public TimeSpan StepDelay { get; set; } = TimeSpan.Zero;

    public IReadOnlyList<IHost> Hosts => hosts;

    /// <param name="failure">The exception, if any, a job with this seed throws on this worker.</param>
    public async Task StartAsync(string id, Func<long, Exception?>? failure = null, Action<WorkerOptions>? configure = null)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddFarmSettings(settings);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Services.AddServiceStores(builder.Configuration);
        var options = new WorkerOptions { WorkerId = id, HeartbeatInterval = TimeSpan.FromMilliseconds(500) };
        configure?.Invoke(options);
        builder.Services.AddFarmWorker(options, new TestDoubleRendererFactory(model, () => StepDelay, failure));
        await WorkerHosting.DeclareDeadLetterQueuesAsync(TestServices.RabbitMqUrl.ToString(), [model], CancellationToken.None);
        builder.Services.AddMassTransit(x =>
        {
            x.AddRenderConsumer();
            x.UsingRabbitMq((ctx, cfg) =>
            {
                TestServices.ConfigureRabbitMq(cfg);
                WorkerHosting.ConfigureRenderQueues(ctx, cfg, [model], options);
            });
        });
        var host = builder.Build();
        hosts.Add(host);
        await host.StartAsync();
        host.Services.GetRequiredService<HeartbeatService>().Beat();
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            foreach (var host in hosts) await host.StopAsync(TimeSpan.FromSeconds(10));
        }
        finally
        {
            foreach (var host in hosts) host.Dispose();
        }
    }
}

using Farm.GpuWorker.Consumers;
using Farm.GpuWorker.Progress;
using Farm.GpuWorker.Rendering;
using Farm.GpuWorker.Telemetry;
using Farm.Infrastructure.Health;
using Farm.Infrastructure.Messaging;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using RabbitMQ.Client;

namespace Farm.GpuWorker;

/// <summary>Wires a worker into a host: its slots, progress reporter, heartbeat, and consumer registration.</summary>
public static class WorkerHosting
{
    /// <summary>The host's stop budget: the drain time, then time for one more step, the hand-back and the heartbeat's removal.</summary>
    public static TimeSpan StopBudget(WorkerOptions options) => TimeSpan.FromSeconds(options.DrainSeconds + 10);

    public static IServiceCollection AddFarmWorker(this IServiceCollection services, WorkerOptions options, IRendererFactory factory)
    {
        services.AddSingleton(options);
        services.AddWorkerTelemetry();
        services.AddDependencyChecks();
        // The host's StartAsync returns once the bus and its receive endpoints (the model queues) are up.
        services.AddOptions<MassTransitHostOptions>().Configure(o =>
        {
            o.WaitUntilStarted = true;
            o.StopTimeout = StopBudget(options);
        });
        services.Configure<Microsoft.Extensions.Hosting.HostOptions>(o => o.ShutdownTimeout = StopBudget(options));
        services.AddSingleton<Lifecycle.WorkerDrain>();
        services.AddSingleton(new WorkerSlots(factory, options.WorkerId, options.Slots));
        services.AddSingleton<ProgressReporter>();
        services.AddSingleton<Assets.AssetCache>();
        services.AddSingleton<HeartbeatService>();
        services.AddHostedService(sp => sp.GetRequiredService<HeartbeatService>());
        services.AddSingleton<Health.WorkerHealthServer>();
        services.AddHostedService(sp => sp.GetRequiredService<Health.WorkerHealthServer>());
        return services;
    }

    /// <summary>Declares the dead-letter queues at start, waiting for the broker; add it before the bus.</summary>
    public static IServiceCollection AddDeadLetterQueueSetup(this IServiceCollection services, string amqpUrl, IReadOnlyList<string> models) =>
        services.AddHostedService(sp => ActivatorUtilities.CreateInstance<Lifecycle.DeadLetterQueueSetup>(sp, amqpUrl, models))
            .AddRabbitMqAddress(amqpUrl);

    public static void AddRenderConsumer(this IBusRegistrationConfigurator bus) =>
        bus.AddConsumer<RenderJobConsumer, RenderJobConsumerDefinition>();

    /// <summary>One quorum queue per served model on RabbitMQ.</summary>
    public static void ConfigureRenderQueues(IBusRegistrationContext context, IRabbitMqBusFactoryConfigurator cfg, IReadOnlyList<string> models, WorkerOptions options)
    {
        RenderTopology.Configure(cfg);
        foreach (var model in models)
            cfg.ReceiveEndpoint(RenderTopology.QueueName(model), e =>
            {
                RenderJobConsumerDefinition.ConfigureModelQueue(e, model, options.Slots, options.DeliveryLimit);
                e.ConfigureConsumer<RenderJobConsumer>(context);
            });
    }

    /// <summary>The dead-letter queue the model queues route to after their delivery limit; declared before them.</summary>
    public static async Task DeclareDeadLetterQueuesAsync(string amqpUrl, IEnumerable<string> models, CancellationToken cancellation)
    {
        await using var connection = await RabbitMqNodes.ConnectAsync(new ConnectionFactory(), amqpUrl, cancellation);
        await using var channel = await connection.CreateChannelAsync(cancellationToken: cancellation);
        foreach (var model in models)
            await channel.QueueDeclareAsync(RenderTopology.DeadLetterQueueName(model), durable: true, exclusive: false, autoDelete: false,
                arguments: new Dictionary<string, object?> { ["x-queue-type"] = "quorum" }, cancellationToken: cancellation);
    }
}

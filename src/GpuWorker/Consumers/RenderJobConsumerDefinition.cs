using Farm.GpuWorker.Rendering;
using Farm.Infrastructure.Messaging;
using MassTransit;

namespace Farm.GpuWorker.Consumers;

/// <summary>
/// Settings of the render consumer: one job at a time per warm pipeline (prefetch and concurrency both equal the
/// pipelines, so a busy worker never hoards queued work), retries with backoff for transient failures only,
/// and a durable quorum queue per model with a delivery limit and a dead-letter queue, where all poison ends.
/// </summary>
public sealed class RenderJobConsumerDefinition(WorkerOptions options) : ConsumerDefinition<RenderJobConsumer>
{
    protected override void ConfigureConsumer(IReceiveEndpointConfigurator endpoint, IConsumerConfigurator<RenderJobConsumer> consumer, IRegistrationContext context)
    {
        endpoint.UseMessageRetry(r =>
        {
            r.Ignore<RenderRejectedException>();
            r.Ignore<ArgumentException>();
            if (options.Retries > 0) r.Exponential(options.Retries, options.RetryFirstInterval, TimeSpan.FromSeconds(30), options.RetryFirstInterval * 2);
            else r.None();
        });
    }

    /// <summary>The queue of one model: bound to the render exchange with the model's name as routing key.</summary>
    public static void ConfigureModelQueue(IRabbitMqReceiveEndpointConfigurator endpoint, string model, int pipelines, int deliveryLimit)
    {
        endpoint.ConfigureConsumeTopology = false;
        endpoint.SetQuorumQueue();
        endpoint.SetQueueArgument("x-delivery-limit", deliveryLimit);
        endpoint.SetQueueArgument("x-dead-letter-exchange", "");
        endpoint.SetQueueArgument("x-dead-letter-routing-key", RenderTopology.DeadLetterQueueName(model));
        // A message that cannot be read, or a job that faults after its retries, goes back to the queue instead of
        // MassTransit's _error/_skipped queues: the quorum queue counts it and dead-letters it at its delivery limit.
        endpoint.RethrowFaultedMessages();
        endpoint.ThrowOnSkippedMessages();
        endpoint.PrefetchCount = pipelines;
        endpoint.ConcurrentMessageLimit = pipelines;
        endpoint.Bind(RenderTopology.ExchangeName, b =>
        {
            b.ExchangeType = RabbitMQ.Client.ExchangeType.Direct;
            b.RoutingKey = model;
        });
    }
}

using Farm.Shared.Contracts;
using MassTransit;
using RabbitMQ.Client;

namespace Farm.Infrastructure.Messaging;

/// <summary>
/// How render jobs travel: published to one direct exchange, routed by model name, so each model's queue
/// (declared by the workers serving it) gets only its jobs, and the coordinator never declares queues.
/// </summary>
public static class RenderTopology
{
    public const string ExchangeName = "farm.render-job";

    public static string QueueName(string model) => $"render-{model}";

    public static string DeadLetterQueueName(string model) => $"render-{model}-dead";

    /// <summary>Applied by every bus that publishes or consumes <see cref="RenderJob"/>; with MassTransit's own metrics (its Meter, "MassTransit").</summary>
    public static void Configure(IRabbitMqBusFactoryConfigurator cfg)
    {
        cfg.UseInstrumentation();
        cfg.Message<RenderJob>(m => m.SetEntityName(ExchangeName));
        cfg.Publish<RenderJob>(p => p.ExchangeType = ExchangeType.Direct);
        cfg.Send<RenderJob>(s => s.UseRoutingKeyFormatter(ctx => ctx.Message.Model));
    }

    /// <summary>One broker, or a cluster when <paramref name="amqpUrl"/> lists several nodes (<see cref="RabbitMqNodes"/>): MassTransit then reconnects to any of them.</summary>
    public static void Host(IRabbitMqBusFactoryConfigurator cfg, string amqpUrl)
    {
        var url = RabbitMqNodes.First(amqpUrl);
        var nodes = RabbitMqNodes.HostPorts(amqpUrl);
        var user = url.UserInfo.Split(':', 2);
        var vhost = url.AbsolutePath.Trim('/') is { Length: > 0 } v ? Uri.UnescapeDataString(v) : "/";
        cfg.Host(url.Host, (ushort)(url.Port > 0 ? url.Port : 5672), vhost, h =>
        {
            h.Username(user[0].Length > 0 ? Uri.UnescapeDataString(user[0]) : "guest");
            h.Password(user.Length > 1 ? Uri.UnescapeDataString(user[1]) : "guest");
            if (nodes.Count > 1)
                h.UseCluster(c =>
                {
                    foreach (var node in nodes) c.Node(node);
                });
        });
    }
}

using RabbitMQ.Client;

namespace Farm.Infrastructure.Messaging;

/// <summary>
/// <c>FARM_RABBITMQ_URL</c> as one broker or a cluster: AMQP URLs separated by commas, one per node, with the same
/// credentials and virtual host (the first URL's). A connection tries the nodes in order and, once lost, reconnects to
/// whichever answers, so a node going down leaves the survivors serving.
/// </summary>
public static class RabbitMqNodes
{
    public static IReadOnlyList<Uri> Parse(string amqpUrls)
    {
        var nodes = amqpUrls.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(u => new Uri(u)).ToList();
        if (nodes.Count == 0) throw new ArgumentException("FARM_RABBITMQ_URL names no broker", nameof(amqpUrls));
        return nodes;
    }

    /// <summary>The first node's URL: credentials, virtual host, and the node tried first.</summary>
    public static Uri First(string amqpUrls) => Parse(amqpUrls)[0];

    /// <summary>"host:port" of each node, as MassTransit's cluster configuration takes them.</summary>
    public static IReadOnlyList<string> HostPorts(string amqpUrls) => Parse(amqpUrls).Select(u => $"{u.Host}:{(u.Port > 0 ? u.Port : 5672)}").ToList();

    /// <summary>A connection to the first node that answers, for the factory's settings with <see cref="First"/> as its Uri.</summary>
    public static Task<IConnection> ConnectAsync(ConnectionFactory factory, string amqpUrls, CancellationToken cancellation)
    {
        factory.Uri = First(amqpUrls);
        var endpoints = Parse(amqpUrls).Select(u => new AmqpTcpEndpoint(u.Host, u.Port > 0 ? u.Port : 5672)).ToList();
        return factory.CreateConnectionAsync(endpoints, cancellation);
    }
}

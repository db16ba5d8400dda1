using Microsoft.Extensions.DependencyInjection;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;

namespace Farm.Infrastructure.Messaging;

/// <summary>
/// How many messages wait in a queue, by a passive declare (which never creates the queue) on a connection of its own;
/// every wait is bounded, and a broker that is down reads as "unknown" until it answers again.
/// </summary>
public sealed class QueueDepthProbe(string amqpUrl) : IAsyncDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(3);

    private readonly SemaphoreSlim gate = new(1, 1);
    private IConnection? connection;

    /// <summary>Ready messages in <paramref name="queue"/>; null when it does not exist or the broker does not answer.</summary>
    public async Task<long?> ReadyMessagesAsync(string queue, CancellationToken cancellation)
    {
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
        bounded.CancelAfter(Timeout);
        await gate.WaitAsync(bounded.Token);
        try
        {
            connection ??= await RabbitMqNodes.ConnectAsync(new ConnectionFactory { RequestedConnectionTimeout = Timeout, ClientProvidedName = "farm-queue-depth" },
                amqpUrl, bounded.Token);
            // A passive declare of a missing queue closes its channel, so each probe has its own.
            await using var channel = await connection.CreateChannelAsync(cancellationToken: bounded.Token);
            return (await channel.QueueDeclarePassiveAsync(queue, bounded.Token)).MessageCount;
        }
        catch (OperationInterruptedException e) when (e.ShutdownReason?.ReplyCode == 404)
        {
            return null;
        }
        catch (Exception e) when (e is BrokerUnreachableException or AlreadyClosedException or OperationInterruptedException or IOException
                                      or OperationCanceledException && !cancellation.IsCancellationRequested)
        {
            await DropConnectionAsync();
            return null;
        }
        finally
        {
            gate.Release();
        }
    }

    public async ValueTask DisposeAsync() => await DropConnectionAsync();

    private async Task DropConnectionAsync()
    {
        var dropped = connection;
        connection = null;
        if (dropped is null) return;
        try
        {
            await dropped.DisposeAsync();
        }
        catch (Exception)
        {
            // Already broken: nothing to close.
        }
    }
}

public static class QueueDepthProbes
{
    /// <summary>Lets the coordinator report each model queue's depth from this broker.</summary>
    public static IServiceCollection AddQueueDepthProbe(this IServiceCollection services, string amqpUrl) =>
        services.AddSingleton(_ => new QueueDepthProbe(amqpUrl));
}

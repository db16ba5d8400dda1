using Farm.Testing;
using MassTransit;
using Xunit;

namespace Farm.Coordinator.Tests.Services;

public sealed record RoundTripPing(string Token, int Number, string Text);

public sealed class RabbitMqRoundTripTests
{
    [Fact]
    public async Task A_message_published_through_rabbitmq_reaches_its_consumer_on_a_quorum_queue_with_its_content()
    {
        var token = Guid.NewGuid().ToString("N");
        var received = new TaskCompletionSource<RoundTripPing>(TaskCreationOptions.RunContinuationsAsynchronously);
        var bus = Bus.Factory.CreateUsingRabbitMq(cfg =>
        {
            TestServices.ConfigureRabbitMq(cfg);
            cfg.ReceiveEndpoint(TestServices.UniqueName("ping"), e =>
            {
                e.SetQuorumQueue();
                e.Handler<RoundTripPing>(ctx =>
                {
                    // The exchange for this message type is shared by every run of this test; keep ours.
                    if (ctx.Message.Token == token) received.TrySetResult(ctx.Message);
                    return Task.CompletedTask;
                });
            });
        });

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await bus.StartAsync(timeout.Token);
        try
        {
            await bus.Publish(new RoundTripPing(token, 42, "prompt: a lighthouse, ünïcode ✓"), timeout.Token);
            var message = await received.Task.WaitAsync(timeout.Token);
            Assert.Equal(new RoundTripPing(token, 42, "prompt: a lighthouse, ünïcode ✓"), message);
        }
        finally
        {
            await bus.StopAsync(CancellationToken.None);
        }
    }
}

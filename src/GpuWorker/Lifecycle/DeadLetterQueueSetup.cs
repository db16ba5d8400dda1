using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Farm.GpuWorker.Lifecycle;

/// <summary>
/// Declares the dead-letter queues before the bus binds the model queues that route to them. A worker started
/// before its broker waits here instead of failing; the <see cref="Infrastructure.Health.DependencyWatch"/> says
/// what it waits for, and this says only what the broker answered, once per distinct answer.
/// </summary>
internal sealed class DeadLetterQueueSetup(string amqpUrl, IReadOnlyList<string> models, ILogger<DeadLetterQueueSetup> logger) : IHostedService
{
    private static readonly TimeSpan RetryInterval = TimeSpan.FromSeconds(5);

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        string? lastError = null;
        while (true)
        {
            try
            {
                await WorkerHosting.DeclareDeadLetterQueuesAsync(amqpUrl, models, cancellationToken);
                return;
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                var error = e.GetBaseException().Message;
                if (error != lastError) logger.LogWarning("dead-letter queues not declared yet, retrying every {Seconds} s: {Error}", RetryInterval.TotalSeconds, error);
                lastError = error;
            }
            await Task.Delay(RetryInterval, cancellationToken);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

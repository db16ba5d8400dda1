using Farm.Infrastructure.Storage;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using StackExchange.Redis;

namespace Farm.Infrastructure.Health;

/// <summary>Redis answers a PING; absent (the embedded demo keeps progress in memory) it is healthy by definition.</summary>
public sealed class RedisHealthCheck(IServiceProvider services) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (services.GetService<IConnectionMultiplexer>() is not { } redis) return HealthCheckResult.Healthy("embedded: progress in memory");
        if (!redis.IsConnected) return HealthCheckResult.Unhealthy("Redis is not connected");
        try
        {
            var took = await redis.GetDatabase().PingAsync().WaitAsync(cancellationToken);
            return HealthCheckResult.Healthy($"PING in {took.TotalMilliseconds:F1} ms");
        }
        catch (Exception e) when (e is RedisException or TimeoutException or OperationCanceledException)
        {
            return HealthCheckResult.Unhealthy($"Redis does not answer: {e.Message}");
        }
    }
}

/// <summary>The bus is connected and its receive endpoints (a worker's model queues) are bound and running.</summary>
public sealed class BusHealthCheck(IBusControl bus) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var health = bus.CheckHealth();
        var result = health.Status == BusHealthStatus.Healthy
            ? HealthCheckResult.Healthy(health.Description)
            : HealthCheckResult.Unhealthy($"RabbitMQ: {health.Status}: {health.Description}");
        return Task.FromResult(result);
    }
}

/// <summary>The bucket answers a HEAD (an absent object is a fine answer; a refused connection or an error is not).</summary>
public sealed class BucketHealthCheck(IObjectStore bucket) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            // A listing, not a HEAD of a key: a missing bucket answers a HEAD with the same 404 as a missing key.
            await using var listing = bucket.ListAsync("healthz/", cancellationToken).GetAsyncEnumerator(cancellationToken);
            await listing.MoveNextAsync();
            return HealthCheckResult.Healthy();
        }
        catch (Exception e)
        {
            return HealthCheckResult.Unhealthy($"bucket does not answer: {e.GetType().Name}: {e.Message}");
        }
    }
}

/// <summary>Not ready once the host is stopping, so a load balancer stops sending work before the process goes.</summary>
public sealed class NotStoppingHealthCheck(IHostApplicationLifetime lifetime) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(lifetime.ApplicationStopping.IsCancellationRequested ? HealthCheckResult.Unhealthy("stopping") : HealthCheckResult.Healthy());
}

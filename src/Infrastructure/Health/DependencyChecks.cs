using Microsoft.Extensions.DependencyInjection;

namespace Farm.Infrastructure.Health;

/// <summary>The readiness checks of the services a coordinator or worker needs, and the watch that logs their outages.</summary>
public static class DependencyChecks
{
    /// <remarks>Idempotent: a process that hosts a coordinator and a worker together (the demo) registers them once.</remarks>
    public static IHealthChecksBuilder AddDependencyChecks(this IServiceCollection services)
    {
        if (services.Any(d => d.ImplementationType == typeof(DependencyWatch))) return services.AddHealthChecks();
        services.AddHostedService<DependencyWatch>();
        string[] tags = [HealthEndpoints.Ready, DependencyWatch.Tag];
        return services.AddHealthChecks()
            .AddCheck<RedisHealthCheck>("redis", tags: tags, timeout: HealthEndpoints.CheckTimeout)
            .AddCheck<BusHealthCheck>("rabbitmq", tags: tags, timeout: HealthEndpoints.CheckTimeout)
            .AddCheck<BucketHealthCheck>("bucket", tags: tags, timeout: HealthEndpoints.CheckTimeout);
    }

    /// <summary>Where RabbitMQ is, for the watch's lines (the URL without its credentials).</summary>
    public static IServiceCollection AddRabbitMqAddress(this IServiceCollection services, string amqpUrl) =>
        services.AddSingleton(new DependencyAddress("rabbitmq", string.Join(",", amqpUrl.Split(',', StringSplitOptions.TrimEntries).Select(WithoutCredentials)), "FARM_RABBITMQ_URL"));

    public static string WithoutCredentials(string url) =>
        Uri.TryCreate(url, UriKind.Absolute, out var uri) ? new UriBuilder(uri) { UserName = "", Password = "" }.Uri.ToString() : url;
}

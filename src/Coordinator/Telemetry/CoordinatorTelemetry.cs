using Farm.Infrastructure.Telemetry;
using Microsoft.Extensions.DependencyInjection;

namespace Farm.Coordinator.Telemetry;

internal static class CoordinatorTelemetry
{
    public const string ServiceName = "farm-coordinator";

    public static IServiceCollection AddCoordinatorTelemetry(this IServiceCollection services)
    {
        services.AddFarmTelemetry(ServiceName).AddFarmSources(CoordinatorTracing.SourceName, CoordinatorMetrics.MeterName);
        services.AddOptions<MetricsOptions>().BindConfiguration(MetricsOptions.Section);
        services.AddSingleton<CoordinatorMetrics>();
        services.AddHostedService<CoordinatorMetricsSampler>();
        return services;
    }
}

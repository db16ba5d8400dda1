using Farm.Infrastructure.Telemetry;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Instrumentation.AspNetCore;

namespace Farm.Coordinator.Telemetry;

internal static class CoordinatorTelemetry
{
    public const string ServiceName = "farm-coordinator";

    public static IServiceCollection AddCoordinatorTelemetry(this IServiceCollection services)
    {
        services.AddFarmTelemetry(ServiceName).AddFarmSources(CoordinatorTracing.SourceName, CoordinatorMetrics.MeterName);
        services.Configure<AspNetCoreTraceInstrumentationOptions>(o => o.EnrichWithHttpResponse = CoordinatorTracing.RememberSubmission);
        services.AddOptions<MetricsOptions>().BindConfiguration(MetricsOptions.Section);
        services.AddSingleton<CoordinatorMetrics>();
        services.AddHostedService<CoordinatorMetricsSampler>();
        return services;
    }
}

using Farm.Infrastructure.Telemetry;
using Microsoft.Extensions.DependencyInjection;

namespace Farm.GpuWorker.Telemetry;

internal static class WorkerTelemetry
{
    public const string ServiceName = "farm-worker";

    public static IServiceCollection AddWorkerTelemetry(this IServiceCollection services)
    {
        services.AddFarmTelemetry(ServiceName).AddFarmSources(WorkerTracing.SourceName, WorkerMetrics.MeterName);
        services.AddSingleton<WorkerMetrics>();
        return services;
    }
}

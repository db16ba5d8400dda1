using System.Diagnostics.Metrics;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Farm.Infrastructure.Telemetry;

/// <summary>
/// OpenTelemetry for a coordinator or worker: traces from MassTransit's own ActivitySource, ASP.NET Core and the
/// farm's sources; metrics from MassTransit's own Meter and the farm's meters, for a Prometheus scrape; OTLP export of
/// traces, metrics and logs when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set.
/// </summary>
public static class FarmTelemetry
{
    /// <summary>The name of MassTransit's ActivitySource and of its Meter.</summary>
    public const string MassTransit = "MassTransit";
    public const string OtlpEndpointVariable = "OTEL_EXPORTER_OTLP_ENDPOINT";
    public const string ScrapePath = "/metrics";

    /// <remarks>
    /// Idempotent: a process that hosts a coordinator and a worker in one container (the demo) gets one SDK, named for
    /// the first. Each part adds its own sources and meters with <see cref="AddFarmSources"/>.
    /// </remarks>
    public static IServiceCollection AddFarmTelemetry(this IServiceCollection services, string serviceName)
    {
        if (services.Any(d => d.ServiceType == typeof(Marker))) return services;
        services.AddSingleton<Marker>();
        var otel = services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService(serviceName, serviceInstanceId: $"{Environment.MachineName}-{Environment.ProcessId}"))
            .WithTracing(t => t.AddSource(MassTransit).AddAspNetCoreInstrumentation(o => o.Filter = context => !IsProbe(context.Request.Path)))
            .WithMetrics(m => m.AddMeter(MassTransit).AddPrometheusExporter());
        services.ConfigureOpenTelemetryMeterProvider((sp, m) => m.AddView(OwnInstrumentsOnly(sp.GetRequiredService<IMeterFactory>())));
        if (!string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable(OtlpEndpointVariable))) otel.UseOtlpExporter();
        return services;
    }

    /// <summary>Adds a part's ActivitySource and Meter (by name) to the providers <see cref="AddFarmTelemetry"/> set up.</summary>
    public static IServiceCollection AddFarmSources(this IServiceCollection services, string activitySource, string meter)
    {
        services.ConfigureOpenTelemetryTracerProvider(t => t.AddSource(activitySource));
        services.ConfigureOpenTelemetryMeterProvider(m => m.AddMeter(meter));
        return services;
    }

    /// <summary>
    /// Meters are process-wide, so a provider would also collect the instruments of another host in the same process
    /// (tests, a worker's health server): it keeps only those made by its own container's meter factory, the unscoped
    /// ones, and MassTransit's, which it creates once per process from the first container that configures a bus.
    /// </summary>
    private static Func<System.Diagnostics.Metrics.Instrument, MetricStreamConfiguration?> OwnInstrumentsOnly(IMeterFactory factory) =>
        instrument => instrument.Meter.Scope is null || ReferenceEquals(instrument.Meter.Scope, factory) || instrument.Meter.Name == MassTransit
            ? null
            : MetricStreamConfiguration.Drop;

    // Scrapes and probes every few seconds would drown the traces that matter.
    private static bool IsProbe(PathString path) => path.StartsWithSegments(ScrapePath) || path.StartsWithSegments("/healthz");

    private sealed class Marker;
}

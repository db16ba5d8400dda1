using Farm.GpuWorker.Rendering;
using Farm.Infrastructure.Health;
using Farm.Infrastructure.Hosting;
using Farm.Infrastructure.Telemetry;
using MassTransit;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Metrics;

namespace Farm.GpuWorker.Health;

/// <summary>
/// The worker's own small HTTP server (<c>--health-urls</c>) with <c>/healthz/live</c> and <c>/healthz/ready</c>:
/// ready once the bus is up with the model queues bound, the models are loadable, and the worker is not stopping; and the
/// worker's Prometheus scrape, <c>/metrics</c>, from the worker host's own meter provider.
/// </summary>
public sealed class WorkerHealthServer(WorkerOptions options, IBusControl bus, WorkerSlots slots, IHostApplicationLifetime lifetime, MeterProvider meters) : IHostedService
{
    private WebApplication? app;

    public IEnumerable<string> Urls => app?.Urls ?? [];

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(options.HealthUrls)) return;
        var builder = WebApplication.CreateSlimBuilder(HostArgs.NoConfigWatch);
        builder.Logging.AddFilter("Microsoft", LogLevel.Warning);
        builder.WebHost.UseUrls(options.HealthUrls.Split(';', StringSplitOptions.RemoveEmptyEntries));
        builder.Services.AddHealthChecks()
            .AddCheck("rabbitmq", new BusHealthCheck(bus), tags: [HealthEndpoints.Ready])
            .AddCheck("models", new ModelsHealthCheck(slots), tags: [HealthEndpoints.Ready])
            .AddCheck("lifetime", new NotStoppingHealthCheck(lifetime), tags: [HealthEndpoints.Ready]);
        app = builder.Build();
        app.MapFarmHealth();
        app.MapPrometheusScrapingEndpoint(FarmTelemetry.ScrapePath, meters, null, null);
        await app.StartAsync(cancellationToken);
        Console.WriteLine($"worker health on {string.Join(", ", app.Urls)} (/healthz/live, /healthz/ready, {FarmTelemetry.ScrapePath})");
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (app is null) return;
        await app.StopAsync(cancellationToken);
        await app.DisposeAsync();
    }

    private sealed class ModelsHealthCheck(WorkerSlots slots) : IHealthCheck
    {
        // The library keeps only models that opened when it was scanned; each one's files must still be there.
        public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
            Task.FromResult(slots.Models.Count == 0
                ? HealthCheckResult.Unhealthy("no loadable model")
                : HealthCheckResult.Healthy($"{slots.Models.Count} model(s): {string.Join(", ", slots.Models)}"));
    }
}

using Farm.Coordinator.Api;
using Farm.Coordinator.Assets;
using Farm.Coordinator.Gallery;
using Farm.Coordinator.Scheduling;
using Farm.Coordinator.Sweeps;
using Farm.Coordinator.Tenancy;
using Farm.Coordinator.Telemetry;
using Farm.Coordinator.Webhooks;
using Farm.Infrastructure;
using Farm.Infrastructure.Health;
using Farm.Infrastructure.Telemetry;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;

namespace Farm.Coordinator;

/// <summary>Adds the coordinator's services and maps its endpoints; the bus, bucket and progress store are the host's choice.</summary>
public static class CoordinatorHosting
{
    /// <summary>How long a stopping coordinator lets requests in flight finish; with the bounded disposal it exits within 10 s.</summary>
    public static readonly TimeSpan StopBudget = TimeSpan.FromSeconds(7);

    public static IServiceCollection AddFarmCoordinator(this IServiceCollection services, CoordinatorOptions options, S3Options? s3 = null)
    {
        var problems = options.Validate().ToList();
        if (problems.Count > 0) throw new InvalidOperationException("invalid coordinator settings: " + string.Join("; ", problems));
        services.AddSingleton(options);
        services.Configure<Microsoft.Extensions.Hosting.HostOptions>(o => o.ShutdownTimeout = StopBudget);
        services.AddSingleton(s3 ?? new S3Options());
        services.AddSingleton<SweepPublisherSignal>();
        services.AddSingleton<KnownModels>();
        services.AddSingleton<SweepService>();
        services.AddHostedService<SweepPublisher>();
        services.AddHostedService<SweepSupervisor>();
        services.AddFarmTenancy();
        services.AddFarmAssets();
        // Webhooks queue their deliveries in Redis: a host on the in-memory store gets none (and specs naming one are refused).
        if (services.Any(d => d.ServiceType == typeof(IConnectionMultiplexer))) services.AddFarmWebhooks();
        services.AddDependencyChecks()
            .AddCheck<NotStoppingHealthCheck>("lifetime", tags: [HealthEndpoints.Ready]);
        services.AddProblemDetails();
        services.AddOpenApi();
        services.AddCoordinatorTelemetry();
        return services;
    }

    public static WebApplication MapFarmCoordinator(this WebApplication app)
    {
        app.UseShutdownGate(app.Lifetime);
        app.UseFarmTenancy();
        app.MapOpenApi();
        var v1 = app.MapSweepApi().MapAssetApi();
        if (app.Services.GetService<WebhookSecrets>() is not null) v1.MapWebhookApi();
        app.MapFarmHealth();
        app.MapPrometheusScrapingEndpoint(FarmTelemetry.ScrapePath).WithTags("health");
        app.MapGet("/healthz", () => TypedResults.Ok(new { status = "ok" })).WithTags("health");
        app.MapGallery();
        return app;
    }
}

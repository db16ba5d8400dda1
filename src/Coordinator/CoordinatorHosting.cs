using Farm.Coordinator.Api;
using Farm.Coordinator.Assets;
using Farm.Coordinator.Gallery;
using Farm.Coordinator.Scheduling;
using Farm.Coordinator.Sweeps;
using Farm.Coordinator.Tenancy;
using Farm.Coordinator.Telemetry;
using Farm.Infrastructure;
using Farm.Infrastructure.Health;
using Farm.Infrastructure.Telemetry;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

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
        app.MapSweepApi().MapAssetApi();
        app.MapFarmHealth();
        app.MapPrometheusScrapingEndpoint(FarmTelemetry.ScrapePath).WithTags("health");
        app.MapGet("/healthz", () => TypedResults.Ok(new { status = "ok" })).WithTags("health");
        app.MapGallery();
        return app;
    }
}

using Farm.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Farm.Coordinator.Tenancy;

/// <summary>API keys, tenants and their limits: options from <c>Auth</c> and <c>Tenants</c>, keys beside the progress store.</summary>
internal static class TenancyHosting
{
    public static IServiceCollection AddFarmTenancy(this IServiceCollection services)
    {
        services.AddOptions<AuthOptions>().BindConfiguration(AuthOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<AuthOptions>>(new OptionProblems<AuthOptions>(o => o.Problem() is { } p ? [p] : []));
        services.AddOptions<TenantLimitsOptions>().BindConfiguration(TenantLimitsOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<TenantLimitsOptions>>(new OptionProblems<TenantLimitsOptions>(o => o.Validate()));
        // Keys live where the sweeps live: in Redis when the host uses it, else in memory (the embedded default).
        services.TryAddSingleton<IApiKeyStore>(sp => sp.GetService<IConnectionMultiplexer>() is { } redis && sp.GetService<RedisOptions>() is { } options
            ? new RedisApiKeyStore(redis, options.Prefix)
            : new InMemoryApiKeyStore());
        services.AddSingleton<AccessPolicy>();
        services.AddHostedService<OpenAccessGuard>();
        services.AddAuthentication(ApiKeyAuthentication.SchemeName).AddScheme<Microsoft.AspNetCore.Authentication.AuthenticationSchemeOptions, ApiKeyAuthentication>(ApiKeyAuthentication.SchemeName, null);
        services.AddAuthorizationBuilder().AddPolicy(Callers.AdminPolicy, p => p.RequireClaim(Callers.AdminClaim, "true"));
        services.AddRateLimiter(_ => { });
        services.AddOptions<RateLimiterOptions>().Configure<IOptions<TenantLimitsOptions>>((o, limits) => TenantRateLimiting.Configure(o, limits.Value));
        return services;
    }

    public static WebApplication UseFarmTenancy(this WebApplication app)
    {
        app.UseAuthentication();
        app.UseRateLimiter();
        app.UseAuthorization();
        return app;
    }
}

using Farm.Coordinator.Tenancy;
using Farm.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Farm.Coordinator.Webhooks;

/// <summary>
/// Webhooks keep their queue in Redis, so they are there when the coordinator runs on Redis (every deployment);
/// a coordinator on the in-memory store refuses specs with a webhook instead of losing their events.
/// </summary>
internal static class WebhooksHosting
{
    public static IServiceCollection AddFarmWebhooks(this IServiceCollection services)
    {
        services.AddOptions<WebhookOptions>().BindConfiguration(WebhookOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<WebhookOptions>>(new OptionProblems<WebhookOptions>(o => o.Validate()));
        services.AddSingleton(sp => new WebhookKeys(sp.GetRequiredService<RedisOptions>().Prefix));
        services.AddSingleton<WebhookSecrets>();
        services.AddSingleton<WebhookQueue>();
        services.AddHostedService<WebhookWatcher>();
        services.AddHostedService<WebhookSender>();
        services.AddHttpClient(WebhookSender.ClientName, (sp, client) =>
            {
                client.Timeout = sp.GetRequiredService<IOptions<WebhookOptions>>().Value.Timeout;
                client.DefaultRequestHeaders.UserAgent.ParseAdd("farm-webhooks/1");
            })
            .ConfigurePrimaryHttpMessageHandler(sp =>
            {
                var allowPrivate = sp.GetRequiredService<IOptions<WebhookOptions>>().Value.AllowPrivateTargets;
                // No redirects: a receiver could otherwise send the signed body on to an address the check never saw.
                return new SocketsHttpHandler
                {
                    AllowAutoRedirect = false,
                    PooledConnectionLifetime = TimeSpan.FromMinutes(2),
                    ConnectCallback = (context, cancellation) => WebhookTargets.ConnectAsync(context, allowPrivate, cancellation),
                };
            });
        return services;
    }
}

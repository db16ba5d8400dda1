using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Hosting;

namespace Farm.Coordinator.Api;

/// <summary>
/// Once the host is stopping, new sweeps are refused with 503 and <c>Retry-After</c> (another coordinator, or this one
/// restarted, takes them); reads and requests already in flight go on until the host's stop budget runs out.
/// </summary>
internal static class ShutdownGate
{
    public const int RetryAfterSeconds = 10;

    public static IApplicationBuilder UseShutdownGate(this IApplicationBuilder app, IHostApplicationLifetime lifetime) =>
        app.Use(async (context, next) =>
        {
            if (lifetime.ApplicationStopping.IsCancellationRequested && HttpMethods.IsPost(context.Request.Method)
                && context.Request.Path.StartsWithSegments("/v1/sweeps"))
            {
                context.Response.Headers.RetryAfter = RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
                await Results.Problem(title: "The coordinator is shutting down", detail: $"Submit again in {RetryAfterSeconds} s.",
                    statusCode: StatusCodes.Status503ServiceUnavailable).ExecuteAsync(context);
                return;
            }
            await next(context);
        });
}

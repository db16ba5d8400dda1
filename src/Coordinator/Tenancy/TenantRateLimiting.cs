using System.Globalization;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.RateLimiting;

namespace Farm.Coordinator.Tenancy;

/// <summary>Requests per second per tenant on the /v1 API (ASP.NET Core's rate limiter, one token bucket per tenant).</summary>
internal static class TenantRateLimiting
{
    public static void Configure(RateLimiterOptions options, TenantLimitsOptions limits)
    {
        options.GlobalLimiter = PartitionedRateLimiter.Create<HttpContext, string>(context =>
        {
            if (!context.Request.Path.StartsWithSegments("/v1")) return RateLimitPartition.GetNoLimiter("");
            // Callers without a known key are limited by address, so guessing keys is paced too.
            var partition = context.User.Identity?.IsAuthenticated == true
                ? "tenant:" + context.User.Tenant()
                : "address:" + context.Connection.RemoteIpAddress;
            var perSecond = limits.RequestsPerSecondFor(context.User.Tenant());
            return RateLimitPartition.GetTokenBucketLimiter(partition, _ => new TokenBucketRateLimiterOptions
            {
                TokenLimit = perSecond,
                TokensPerPeriod = perSecond,
                ReplenishmentPeriod = TimeSpan.FromSeconds(1),
                QueueLimit = 0,
                AutoReplenishment = true,
            });
        });
        options.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
        options.OnRejected = async (rejected, cancellation) =>
        {
            var wait = rejected.Lease.TryGetMetadata(MetadataName.RetryAfter, out var retry) ? retry : TimeSpan.FromSeconds(1);
            var seconds = Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds));
            rejected.HttpContext.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
            await Results.Problem(title: "Too many requests", detail: $"This tenant may send {limits.RequestsPerSecondFor(rejected.HttpContext.User.Tenant())} requests per second; retry in {seconds} s.",
                statusCode: StatusCodes.Status429TooManyRequests).ExecuteAsync(rejected.HttpContext);
        };
    }
}

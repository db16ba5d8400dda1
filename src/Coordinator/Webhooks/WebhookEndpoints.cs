using System.Security.Claims;
using Farm.Coordinator.Tenancy;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;

namespace Farm.Coordinator.Webhooks;

public sealed record WebhookSecret(string Tenant, string Secret, string Header, string Algorithm);

/// <summary><c>GET /v1/webhook-secret</c>: the caller's tenant's signing secret (made on first use), to check <c>X-Farm-Signature</c> with.</summary>
internal static class WebhookEndpoints
{
    public static void MapWebhookApi(this RouteGroupBuilder v1) =>
        v1.MapGet("/webhook-secret", GetSecretAsync).WithTags("webhooks")
            .WithSummary("The secret this tenant's webhooks are signed with: X-Farm-Signature is sha256=HMAC-SHA256(secret, body) in hex");

    private static async Task<Ok<WebhookSecret>> GetSecretAsync(ClaimsPrincipal user, WebhookSecrets secrets) =>
        TypedResults.Ok(new WebhookSecret(user.Tenant(), await secrets.GetOrCreateAsync(user.Tenant()), WebhookSignature.Header, "HMAC-SHA256"));
}

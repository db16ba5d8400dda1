using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Farm.Coordinator.Tenancy;

/// <summary>
/// <c>Authorization: Bearer KEY</c>: the key's tenant and admin flag become the caller. While keys are not required
/// (see <see cref="AccessPolicy"/>), a request without a known key is the anonymous admin. Failures name no key.
/// </summary>
internal sealed class ApiKeyAuthentication(
    IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder, IApiKeyStore keys, AccessPolicy policy)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "ApiKey";
    private const string Bearer = "Bearer ";

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (policy.Options.Off) return Success(Callers.Anonymous);
        if (Request.Headers.Authorization.Count == 0) return await policy.KeysRequiredAsync() ? AuthenticateResult.NoResult() : Success(Callers.Anonymous);
        if (BearerKey(Request) is not { } secret)
            return await policy.KeysRequiredAsync() ? AuthenticateResult.Fail("the Authorization header is not 'Bearer KEY'") : Success(Callers.Anonymous);
        var key = await keys.FindAsync(secret);
        if (key is not null) return Success(Callers.For(key));
        return await policy.KeysRequiredAsync() ? AuthenticateResult.Fail("unknown or revoked API key") : Success(Callers.Anonymous);
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        Response.Headers.WWWAuthenticate = "Bearer";
        await Results.Problem(title: "An API key is required",
            detail: "Send 'Authorization: Bearer KEY' with a key from ./farm keys create (the CLI reads FARM_API_KEY or --api-key); this key is missing, unknown or revoked.",
            statusCode: StatusCodes.Status401Unauthorized).ExecuteAsync(Context);
    }

    protected override async Task HandleForbiddenAsync(AuthenticationProperties properties) =>
        await Results.Problem(title: "This needs an admin key", detail: "Create one with ./farm keys create --tenant NAME --admin.",
            statusCode: StatusCodes.Status403Forbidden).ExecuteAsync(Context);

    /// <summary>The key of <c>Authorization: Bearer KEY</c>, or null when the header is missing or of another kind.</summary>
    public static string? BearerKey(HttpRequest request)
    {
        var header = request.Headers.Authorization.ToString();
        return header.StartsWith(Bearer, StringComparison.OrdinalIgnoreCase) && header[Bearer.Length..].Trim() is { Length: > 0 } key ? key : null;
    }

    private AuthenticateResult Success(System.Security.Claims.ClaimsPrincipal user) => AuthenticateResult.Success(new AuthenticationTicket(user, SchemeName));
}

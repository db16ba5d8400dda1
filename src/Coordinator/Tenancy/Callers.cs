using System.Security.Claims;
using Farm.Infrastructure.Progress;

namespace Farm.Coordinator.Tenancy;

/// <summary>Who is calling, as the API key (or open access) made them: a tenant, and whether they are an admin.</summary>
internal static class Callers
{
    public const string TenantClaim = "farm:tenant";
    public const string AdminClaim = "farm:admin";
    public const string AdminPolicy = "admin";

    public static ClaimsPrincipal For(ApiKey key) => Principal(key.Tenant, key.Admin, key.Id);

    /// <summary>With keys off, every caller is an admin of the anonymous tenant: the farm is one person's.</summary>
    public static ClaimsPrincipal Anonymous { get; } = Principal(SweepSnapshot.NoTenant, admin: true, keyId: null);

    public static string Tenant(this ClaimsPrincipal user) => user.FindFirstValue(TenantClaim) ?? SweepSnapshot.NoTenant;

    public static bool IsAdmin(this ClaimsPrincipal user) => user.HasClaim(AdminClaim, "true");

    /// <summary>The caller came with a key (not as the anonymous caller of an open coordinator).</summary>
    public static bool HasKey(this ClaimsPrincipal user) => user.HasClaim(c => c.Type == ClaimTypes.NameIdentifier);

    public static bool CanSee(this ClaimsPrincipal user, SweepSnapshot sweep) => user.IsAdmin() || sweep.Tenant == user.Tenant();

    private static ClaimsPrincipal Principal(string tenant, bool admin, string? keyId)
    {
        var claims = new List<Claim> { new(TenantClaim, tenant), new(AdminClaim, admin ? "true" : "false") };
        if (keyId is not null) claims.Add(new Claim(ClaimTypes.NameIdentifier, keyId));
        return new ClaimsPrincipal(new ClaimsIdentity(claims, ApiKeyAuthentication.SchemeName));
    }
}

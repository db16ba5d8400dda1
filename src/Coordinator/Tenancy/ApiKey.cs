using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

namespace Farm.Coordinator.Tenancy;

/// <summary>A key as stored: who it is for, never the key itself (only its SHA-256 is kept, as the store's lookup field).</summary>
public sealed record ApiKey(string Id, string Tenant, bool Admin, DateTimeOffset CreatedAt);

/// <summary>A key just made: <see cref="Secret"/> is shown to the person once and kept nowhere.</summary>
public sealed record NewApiKey(ApiKey Key, string Secret);

public static partial class ApiKeySecrets
{
    /// <summary>32 random bytes: a key cannot be guessed, so one fast SHA-256 (not a slow password hash) is enough to store it.</summary>
    public static string Generate() => "farm_" + Base64Url(RandomNumberGenerator.GetBytes(32));

    public static string NewId() => "key-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4));

    public static string Hash(string secret) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(secret)));

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}

public static partial class TenantNames
{
    /// <summary>Why <paramref name="tenant"/> cannot name a tenant, or null when it can.</summary>
    public static string? Problem(string? tenant) =>
        string.IsNullOrEmpty(tenant) ? "a tenant name is required"
        : !Pattern().IsMatch(tenant) ? $"'{tenant}' is not a tenant name: use 1 to 64 letters, digits, '-', '_' or '.', starting with a letter or digit"
        : tenant == Farm.Infrastructure.Progress.SweepSnapshot.NoTenant ? $"'{tenant}' is reserved for sweeps submitted without a key"
        : null;

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
    private static partial Regex Pattern();
}

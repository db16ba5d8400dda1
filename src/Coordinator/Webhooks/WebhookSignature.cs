using System.Security.Cryptography;
using System.Text;

namespace Farm.Coordinator.Webhooks;

/// <summary><c>X-Farm-Signature: sha256=&lt;hex&gt;</c>, the HMAC-SHA256 of the exact body bytes under the tenant's secret.</summary>
internal static class WebhookSignature
{
    public const string Header = "X-Farm-Signature";

    public static string Sign(string secret, byte[] body) =>
        "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), body));
}

using Microsoft.Extensions.Options;

namespace Farm.Coordinator.Tenancy;

/// <summary>Whether a request must carry a key right now: asked per request (no cache), so a first key created turns keys on at once.</summary>
internal sealed class AccessPolicy(IOptions<AuthOptions> options, IApiKeyStore keys)
{
    public AuthOptions Options { get; } = options.Value;

    /// <summary>Set at start by <see cref="OpenAccessGuard"/> when the coordinator listens beyond loopback.</summary>
    public bool PublicAddress { get; set; }

    public async Task<bool> KeysRequiredAsync() => !Options.Off && (Options.On || PublicAddress || await keys.AnyAsync());
}

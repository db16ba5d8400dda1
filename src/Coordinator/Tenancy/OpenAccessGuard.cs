using System.Net;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Farm.Coordinator.Tenancy;

/// <summary>The coordinator would serve every sweep to anyone who can reach it.</summary>
public sealed class OpenAccessRefusedException(string message) : Exception(message);

/// <summary>
/// Safe by default: started beyond loopback (0.0.0.0, a LAN address, a host name) with no API key, the coordinator
/// refuses to start unless keys are turned off on purpose. Runs before the server listens (hosted services start first).
/// </summary>
internal sealed class OpenAccessGuard(IServer server, IConfiguration configuration, AccessPolicy policy, IApiKeyStore keys, ILogger<OpenAccessGuard> logger)
    : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var beyond = ListenAddresses().Where(a => !IsLoopback(a)).ToList();
        if (policy.Options.Off)
        {
            if (beyond.Count > 0)
                logger.LogWarning("API keys are off (FARM_AUTH=off) on {Addresses}: anyone who reaches them can see, cancel and download every sweep", string.Join(", ", beyond));
            return;
        }
        policy.PublicAddress = beyond.Count > 0;
        if (beyond.Count == 0 && !policy.Options.On) return;
        bool any;
        try
        {
            any = await keys.AnyAsync().WaitAsync(TimeSpan.FromSeconds(10), cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // Keys are required here anyway, so an unreachable store only means every request is refused until it answers.
            logger.LogWarning("cannot tell whether API keys exist ({Error}); every request needs a key", e.Message.Split(" - ")[0]);
            return;
        }
        if (any) return;
        if (beyond.Count > 0)
            throw new OpenAccessRefusedException(
                $"not starting: the coordinator would listen on {string.Join(", ", beyond)}, beyond this machine, and no API key exists, " +
                "so anyone could see, cancel and download every sweep. Create a key first (./farm keys create --tenant NAME --admin), " +
                "listen on 127.0.0.1 only, or set FARM_AUTH=off to serve without keys on purpose.");
        logger.LogWarning("API keys are on (FARM_AUTH=on) and none exists: every request gets 401 until ./farm keys create makes one");
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>The server's addresses; before it starts, the configured urls (what it will bind), else Kestrel's default.</summary>
    private IEnumerable<string> ListenAddresses()
    {
        var addresses = server.Features.Get<IServerAddressesFeature>()?.Addresses;
        if (addresses is { Count: > 0 }) return addresses;
        var urls = configuration["urls"] ?? configuration["ASPNETCORE_URLS"];
        return string.IsNullOrWhiteSpace(urls) ? ["http://localhost:5000"] : urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
    }

    internal static bool IsLoopback(string url)
    {
        var host = BindingAddress.Parse(url).Host;
        if (host.Equals("localhost", StringComparison.OrdinalIgnoreCase)) return true;
        return IPAddress.TryParse(host.Trim('[', ']'), out var ip) && IPAddress.IsLoopback(ip);
    }
}

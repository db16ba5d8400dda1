using System.Net;
using System.Net.Sockets;

namespace Farm.Coordinator.Webhooks;

/// <summary>
/// Which addresses a webhook may reach. Unless <see cref="WebhookOptions.AllowPrivateTargets"/>, loopback, private,
/// link-local, carrier-grade NAT, unique-local and unspecified addresses are refused: at submission when the URL
/// names one (or <c>localhost</c>), and at every connection after DNS (<see cref="ConnectAsync"/>), so a name that
/// resolves to an internal address later is refused too.
/// </summary>
internal static class WebhookTargets
{
    public static bool IsPrivate(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6) address = address.MapToIPv4();
        if (IPAddress.IsLoopback(address) || address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any)) return true;
        if (address.AddressFamily == AddressFamily.InterNetworkV6)
            return address.IsIPv6LinkLocal || address.IsIPv6SiteLocal || address.IsIPv6UniqueLocal || address.IsIPv6Multicast;
        var b = address.GetAddressBytes();
        return b[0] switch
        {
            0 or 10 or 127 => true,
            100 => b[1] is >= 64 and < 128,
            169 => b[1] == 254,
            172 => b[1] is >= 16 and < 32,
            192 => b[1] == 168 || (b[1] == 0 && b[2] is 0 or 2),
            198 => b[1] is 18 or 19,
            >= 224 => true,
            _ => false,
        };
    }

    /// <summary>Why a spec's webhook URL is refused on this coordinator, or null; only what the URL itself shows (no DNS at submission).</summary>
    public static string? Problem(string url, WebhookOptions options)
    {
        if (options.AllowPrivateTargets || !Uri.TryCreate(url, UriKind.Absolute, out var uri)) return null;
        var host = uri.IdnHost;
        if (host.Equals("localhost", StringComparison.OrdinalIgnoreCase) || host.EndsWith(".localhost", StringComparison.OrdinalIgnoreCase)
            || (IPAddress.TryParse(host, out var address) && IsPrivate(address)))
            return $"'{uri.Host}' is a loopback or private address, which this farm does not call (Webhooks:AllowPrivateTargets)";
        return null;
    }

    /// <summary>The HTTP handler's connect step: resolves the host and connects only to addresses the options allow.</summary>
    public static async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, bool allowPrivate, CancellationToken cancellation)
    {
        var addresses = await Dns.GetHostAddressesAsync(context.DnsEndPoint.Host, cancellation);
        var allowed = allowPrivate ? addresses : addresses.Where(a => !IsPrivate(a)).ToArray();
        if (allowed.Length == 0)
            throw new HttpRequestException($"'{context.DnsEndPoint.Host}' resolves only to loopback or private addresses, which this farm does not call");
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(allowed, context.DnsEndPoint.Port, cancellation);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}

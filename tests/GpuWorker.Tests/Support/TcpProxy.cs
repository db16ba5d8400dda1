using System.Net;
using System.Net.Sockets;

namespace Farm.GpuWorker.Tests.Support;

/// <summary>
/// A loopback TCP forwarder in front of a real service, so one test can take the service away from one process
/// (<see cref="Cut"/> closes the listener and every connection) without stopping it for the tests running beside it.
/// </summary>
internal sealed class TcpProxy : IDisposable
{
    private readonly TcpListener listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource cut = new();
    private readonly List<TcpClient> connections = [];

    public TcpProxy(string targetHost, int targetPort)
    {
        listener.Start();
        _ = AcceptAsync(targetHost, targetPort);
    }

    public int Port => ((IPEndPoint)listener.LocalEndpoint).Port;

    private async Task AcceptAsync(string host, int port)
    {
        try
        {
            while (!cut.IsCancellationRequested)
            {
                var client = await listener.AcceptTcpClientAsync(cut.Token);
                var upstream = new TcpClient();
                await upstream.ConnectAsync(host, port, cut.Token);
                lock (connections) connections.AddRange([client, upstream]);
                _ = PumpAsync(client.GetStream(), upstream.GetStream());
                _ = PumpAsync(upstream.GetStream(), client.GetStream());
            }
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }
    }

    private async Task PumpAsync(NetworkStream from, NetworkStream to)
    {
        try
        {
            await from.CopyToAsync(to, cut.Token);
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or ObjectDisposedException)
        {
        }
    }

    /// <summary>The service is gone, as far as the proxied process can tell: nothing listens, open connections drop.</summary>
    public void Cut()
    {
        cut.Cancel();
        listener.Stop();
        lock (connections)
            foreach (var c in connections) c.Dispose();
    }

    public void Dispose()
    {
        if (!cut.IsCancellationRequested) Cut();
        cut.Dispose();
    }
}

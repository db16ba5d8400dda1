using System.Diagnostics;

namespace Farm.Cli.Bench;

/// <summary>
/// <c>P</c> clients each asking for a sweep's status (<c>GET /v1/sweeps/{id}</c>) every <see cref="Interval"/>, as
/// dashboards and <c>farm status --watch</c> do, timing every answer. Failed requests are counted, not timed.
/// </summary>
internal sealed class StatusPollers(Uri coordinator, string sweepId, int count) : IAsyncDisposable
{
    public static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(100);

    private readonly List<double> latenciesMs = [];
    private readonly CancellationTokenSource stop = new();
    private readonly List<Task> pollers = [];
    private long errors;

    public long Errors => Interlocked.Read(ref errors);

    public void Start()
    {
        for (var i = 0; i < count; i++) pollers.Add(Task.Run(() => PollAsync(stop.Token)));
    }

    private async Task PollAsync(CancellationToken cancellation)
    {
        // One connection per poller, as separate clients would have.
        using var http = new HttpClient { BaseAddress = coordinator, Timeout = TimeSpan.FromSeconds(30) };
        var path = $"v1/sweeps/{Uri.EscapeDataString(sweepId)}";
        while (!cancellation.IsCancellationRequested)
        {
            var clock = Stopwatch.StartNew();
            try
            {
                using var response = await http.GetAsync(path, cancellation);
                await response.Content.ReadAsByteArrayAsync(cancellation);
                if (response.IsSuccessStatusCode)
                    lock (latenciesMs) latenciesMs.Add(clock.Elapsed.TotalMilliseconds);
                else Interlocked.Increment(ref errors);
            }
            catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                Interlocked.Increment(ref errors);
            }
            try
            {
                await Task.Delay(Interval, cancellation);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>Stops the pollers and returns the answers' latencies, sorted.</summary>
    public async Task<IReadOnlyList<double>> StopAsync()
    {
        await stop.CancelAsync();
        await Task.WhenAll(pollers);
        lock (latenciesMs) return latenciesMs.Order().ToList();
    }

    /// <summary>The nearest-rank percentile of sorted values (NaN when there are none).</summary>
    public static double Percentile(IReadOnlyList<double> sorted, double p) =>
        sorted.Count == 0 ? double.NaN : sorted[Math.Clamp((int)Math.Ceiling(p / 100 * sorted.Count) - 1, 0, sorted.Count - 1)];

    public async ValueTask DisposeAsync()
    {
        if (!stop.IsCancellationRequested) await StopAsync();
        stop.Dispose();
    }
}

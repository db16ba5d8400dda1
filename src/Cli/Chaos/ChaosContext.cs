using System.Diagnostics;
using System.Globalization;
using Farm.Cli.Bench;
using Farm.Cli.Commands;
using Farm.Coordinator.Api;

namespace Farm.Cli.Chaos;

/// <summary>What a scenario's faults act on (the processes, the services) and what they record: each fault, and how long the farm took to recover from it.</summary>
internal sealed class ChaosContext(ChaosSettings settings, FarmProcesses processes, ServiceSet services, string sweepId, Stopwatch clock)
{
    /// <summary>The window over which the rate after a fault is compared with the rate before it.</summary>
    private static readonly TimeSpan RateWindow = TimeSpan.FromSeconds(2);

    private readonly List<FaultRecord> faults = [];
    private double baselinePerSecond = double.NaN;

    public ChaosSettings Settings => settings;
    public FarmProcesses Processes => processes;
    public ServiceSet Services => services;
    public IReadOnlyList<FaultRecord> Faults
    {
        get
        {
            lock (faults) return faults.ToList();
        }
    }

    public void Log(string text) => Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"    {clock.Elapsed.TotalSeconds,6:F1} s  {text}"));

    /// <summary>The sweep's status, or null while the coordinator does not answer (it may be the fault).</summary>
    public async Task<SweepStatus?> StatusAsync(CancellationToken cancellation)
    {
        try
        {
            using var client = new FarmClient(processes.CoordinatorUrl);
            return await client.StatusAsync(sweepId, cancellation);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or InvalidOperationException or UsageException && !cancellation.IsCancellationRequested)
        {
            return null;
        }
    }

    public static bool Finished(SweepStatus status) => status.State is "completed" or "failed" or "cancelled";

    /// <summary>Waits until a tenth of the sweep is counted (a fault then lands mid-sweep); false when the sweep ended first.</summary>
    /// The rate until then is the baseline a recovery is measured against.
    public async Task<bool> MidSweepAsync(CancellationToken cancellation)
    {
        if (await ProgressBeyondAsync(Math.Max(1, settings.Images / 10) - 1, cancellation) is not { } status || Finished(status)) return false;
        baselinePerSecond = status.Images.Completed / clock.Elapsed.TotalSeconds;
        Log(string.Create(CultureInfo.InvariantCulture, $"{status.Images.Completed} of {status.Images.Total} images: {baselinePerSecond:F1} images/s before any fault"));
        return true;
    }

    /// <summary>Waits until more than <paramref name="completed"/> images are counted, or the sweep ends; null past the sweep limit.</summary>
    public async Task<SweepStatus?> ProgressBeyondAsync(long completed, CancellationToken cancellation)
    {
        var limit = Stopwatch.StartNew();
        while (limit.Elapsed < settings.SweepLimit)
        {
            if (await StatusAsync(cancellation) is { } status && (status.Images.Completed > completed || Finished(status))) return status;
            await Task.Delay(100, cancellation);
        }
        return null;
    }

    /// <summary>
    /// Records a fault repaired at <paramref name="repaired"/> (clock time): recovered once the farm counts images at
    /// half its rate before the faults or more, over a window of two seconds (or the sweep is found ended), measured
    /// from the repair to the end of that window. Not merely the next image: renders already under way when a broker
    /// goes are counted without it, while new work waits for the reconnection.
    /// </summary>
    public async Task RecoveredAsync(string fault, double downSeconds, TimeSpan repaired, CancellationToken cancellation)
    {
        var samples = new Queue<(TimeSpan At, long Completed)>();
        while (clock.Elapsed - repaired < settings.SweepLimit)
        {
            if (await StatusAsync(cancellation) is { } status)
            {
                if (Finished(status))
                {
                    Record(fault, downSeconds, (clock.Elapsed - repaired).TotalSeconds);
                    return;
                }
                var now = clock.Elapsed;
                samples.Enqueue((now, status.Images.Completed));
                while (samples.Count > 1 && now - samples.ElementAt(1).At >= RateWindow) samples.Dequeue();
                var (oldest, count) = samples.Peek();
                if (now - oldest >= RateWindow && (status.Images.Completed - count) / (now - oldest).TotalSeconds >= baselinePerSecond / 2)
                {
                    Record(fault, downSeconds, (now - repaired).TotalSeconds);
                    return;
                }
            }
            await Task.Delay(200, cancellation);
        }
        Record(fault, downSeconds, double.NaN);
    }

    public void Record(string fault, double downSeconds, double recoveredSeconds)
    {
        lock (faults) faults.Add(new FaultRecord(fault, downSeconds, recoveredSeconds));
        Log(string.Create(CultureInfo.InvariantCulture, $"{fault}: down {downSeconds:F1} s, recovered {recoveredSeconds:F1} s after"));
    }

    /// <summary>Faults a scenario meant to do but could not, because the sweep ended first: the run then fails, as it proved less than it claims.</summary>
    public int FaultsNotDone { get; private set; }

    public void NotDone(int count, string reason)
    {
        FaultsNotDone += count;
        Log($"{count} fault(s) not done: {reason}");
    }

    public TimeSpan Now => clock.Elapsed;
}

/// <summary>One fault of a scenario: how long the part was down, and how long after its repair the farm counted an image again (NaN: never).</summary>
internal sealed record FaultRecord(string Fault, double DownSeconds, double RecoveredSeconds);

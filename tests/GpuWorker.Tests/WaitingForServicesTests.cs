using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Farm.GpuWorker.Tests.Support;
using Farm.Testing;
using Xunit;

namespace Farm.GpuWorker.Tests;

/// <summary>
/// A process whose services are away says so in a few lines (address and hint, no stack traces), keeps quiet while
/// it waits, and says when a service is back. Real processes; the missing service is a port nobody listens on,
/// then a real redis-server started on it.
/// </summary>
public sealed class WaitingForServicesTests : IAsyncLifetime
{
    private readonly List<WorkerProcess> processes = [];
    private TinyModels models = null!;
    private string bucket = null!;

    public async Task InitializeAsync()
    {
        models = await TinyModels.CreateAsync(TestServices.UniqueName("tiny"));
        bucket = await TestServices.CreateBucketAsync("waiting");
    }

    public Task DisposeAsync()
    {
        foreach (var p in processes) p.Dispose();
        models.Dispose();
        return Task.CompletedTask;
    }

    [Fact]
    public async Task A_coordinator_with_redis_down_names_it_with_the_hint_stays_quiet_and_says_when_it_is_back()
    {
        var port = FreePort();
        var settings = new Dictionary<string, string>(TestServices.Settings(bucket)) { ["FARM_REDIS"] = $"127.0.0.1:{port}" };
        var coordinator = Start(settings, "coordinator", "--urls", "http://127.0.0.1:0");

        var first = await WaitForLineAsync(coordinator, $"redis at 127.0.0.1:{port} is unreachable", TimeSpan.FromSeconds(30));
        Assert.Contains("./farm services start", first);
        Assert.Contains("FARM_REDIS", first);
        var linesAfterFirst = Lines(coordinator).Count;
        // Three probe rounds later, nothing more: the reminder comes once a minute, not every few seconds.
        await Task.Delay(TimeSpan.FromSeconds(16));
        var lines = Lines(coordinator);
        Assert.True(lines.Count <= linesAfterFirst + 1, $"more lines while waiting:\n{coordinator.Output}");
        Assert.True(lines.Count <= 6, $"too many lines for one service down:\n{coordinator.Output}");
        Assert.DoesNotContain(lines, l => l.TrimStart().StartsWith("at ", StringComparison.Ordinal));
        Assert.DoesNotContain(lines, l => l.Contains("rabbitmq") || l.Contains("bucket at"));

        using var redis = StartRedis(port);
        try
        {
            var back = await WaitForLineAsync(coordinator, $"redis at 127.0.0.1:{port} is back after", TimeSpan.FromSeconds(30));
            Assert.StartsWith("info:", back);
        }
        finally
        {
            redis.Kill();
        }
    }

    [Fact]
    public async Task A_worker_started_before_its_broker_waits_saying_so_and_exits_with_0_on_sigterm()
    {
        var settings = new Dictionary<string, string>(TestServices.Settings(bucket)) { ["FARM_RABBITMQ_URL"] = $"amqp://guest:guest@127.0.0.1:{FreePort()}/" };
        var worker = Start(settings, "worker", "--models", models.Dir, "--threads", "1");

        var line = await WaitForLineAsync(worker, "rabbitmq at amqp://127.0.0.1:", TimeSpan.FromSeconds(60));
        Assert.Contains("./farm services start", line);
        Assert.DoesNotContain("guest", line);
        Assert.False(worker.HasExited, worker.Output);
        Assert.DoesNotContain(Lines(worker), l => l.TrimStart().StartsWith("at ", StringComparison.Ordinal));

        var exit = await worker.TerminateAsync(TimeSpan.FromSeconds(15));
        Assert.True(exit.Code == 0, $"exit {exit.Code}\n{worker.Output}");
    }

    private WorkerProcess Start(IReadOnlyDictionary<string, string> settings, params string[] args)
    {
        var process = WorkerProcess.StartCli(args[0], settings, args);
        processes.Add(process);
        return process;
    }

    private static List<string> Lines(WorkerProcess process) =>
        process.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).ToList();

    private static async Task<string> WaitForLineAsync(WorkerProcess process, string text, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < timeout)
        {
            if (Lines(process).FirstOrDefault(l => l.Contains(text, StringComparison.Ordinal)) is { } line) return line;
            await Task.Delay(200);
        }
        throw new TimeoutException($"no line with '{text}' in {timeout.TotalSeconds} s:\n{process.Output}");
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static Process StartRedis(int port) =>
        Process.Start(new ProcessStartInfo("redis-server", ["--bind", "127.0.0.1", "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--save", "", "--appendonly", "no", "--loglevel", "warning"])
        {
            RedirectStandardOutput = true,
            UseShellExecute = false,
        })!;
}

using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using Farm.Coordinator.Api;
using Farm.Infrastructure;
using Farm.Shared.Contracts;

namespace Farm.Cli.Bench;

/// <summary>
/// A coordinator and simulated workers as child processes on the run's own model, bucket and Redis prefix
/// (<see cref="BenchResources"/>), for <c>farm bench farm</c> and <c>farm chaos</c>. A worker or the coordinator can be
/// killed and started again with the same settings (the coordinator on the same address). <see cref="StopAsync"/> ends them all.
/// </summary>
internal sealed class FarmProcesses(BenchResources resources, RabbitMqOptions rabbit, RedisOptions redis, S3Options s3, IReadOnlyDictionary<string, string> coordinatorSettings)
{
    private static readonly TimeSpan StartupLimit = TimeSpan.FromSeconds(120);

    private readonly List<BenchChild> children = [];
    private readonly List<string> workerMetricsUrls = [];
    private readonly Dictionary<int, (BenchChild Child, string[] Args)> workers = [];
    private BenchChild? coordinator;

    public string Model => resources.Model;
    public Uri CoordinatorUrl { get; } = new($"http://127.0.0.1:{FreePort()}/");
    public BenchChild Coordinator => coordinator ?? throw new InvalidOperationException("the coordinator was not started");
    /// <summary>The workers now running (or last started), by number from 1.</summary>
    public IReadOnlyList<BenchChild> Workers => workers.OrderBy(w => w.Key).Select(w => w.Value.Child).ToList();
    public IReadOnlyList<string> WorkerMetricsUrls => workerMetricsUrls;

    public static string WorkerId(string model, int number) => $"{model}-w{number}";

    public BenchChild StartCoordinator()
    {
        var environment = SharedEnvironment();
        foreach (var (key, value) in coordinatorSettings) environment[key] = value;
        coordinator = Start("coordinator", environment, "coordinator", "--urls", CoordinatorUrl.ToString().TrimEnd('/'));
        return coordinator;
    }

    /// <summary>Worker <paramref name="number"/> (from 1) with the simulated renderer at <paramref name="stepMs"/> ms a step.</summary>
    public BenchChild StartWorker(int number, int stepMs, params string[] extraArgs)
    {
        var health = $"http://127.0.0.1:{FreePort()}";
        workerMetricsUrls.Add(health + "/metrics");
        string[] args = ["worker", "--renderer", Invariant($"simulated:{stepMs}"), "--models-served", resources.Model, "--id", WorkerId(resources.Model, number), .. extraArgs];
        var child = Start($"worker {number}", SharedEnvironment(), [.. args, "--health-urls", health]);
        workers[number] = (child, args);
        return child;
    }

    /// <summary>The same worker again (a supervisor's restart), on a fresh health port.</summary>
    public BenchChild RestartWorker(int number)
    {
        var (old, args) = workers[number];
        old.Kill();
        var health = $"http://127.0.0.1:{FreePort()}";
        var child = Start($"worker {number}", SharedEnvironment(), [.. args, "--health-urls", health]);
        workers[number] = (child, args);
        return child;
    }

    public BenchChild RestartCoordinator()
    {
        Coordinator.Kill();
        return StartCoordinator();
    }

    public async Task WaitForCoordinatorAsync(CancellationToken cancellation)
    {
        using var http = new HttpClient { BaseAddress = CoordinatorUrl, Timeout = TimeSpan.FromSeconds(30) };
        await WaitAsync(async () => (await TryGetAsync(http, "healthz/ready")) == HttpStatusCode.OK, "the coordinator to be ready", cancellation);
    }

    public async Task WaitForWorkersAsync(int count, CancellationToken cancellation)
    {
        using var http = new HttpClient { BaseAddress = CoordinatorUrl, Timeout = TimeSpan.FromSeconds(30) };
        await WaitAsync(async () => (await HeartbeatsAsync(http, cancellation)).Count >= count, $"{count} workers to announce {resources.Model}", cancellation);
    }

    /// <summary>The heartbeats of the run's workers in <c>/v1/workers</c>; none when the coordinator does not answer.</summary>
    public async Task<List<WorkerHeartbeat>> HeartbeatsAsync(HttpClient http, CancellationToken cancellation)
    {
        try
        {
            var all = await http.GetFromJsonAsync<List<WorkerHeartbeat>>("v1/workers", FarmJson.Options, cancellation);
            return all!.Where(w => w.Models.Contains(resources.Model)).ToList();
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !cancellation.IsCancellationRequested)
        {
            return [];
        }
    }

    /// <summary>Workers first (a graceful stop lets the last one file the contact sheet), then the coordinator.</summary>
    public async Task StopAsync()
    {
        var running = children.Where(c => c.Name.StartsWith("worker", StringComparison.Ordinal)).ToList();
        await Task.WhenAll(running.Select(w => w.StopAsync(TimeSpan.FromSeconds(15))));
        await Task.WhenAll(children.Except(running).Select(c => c.StopAsync(TimeSpan.FromSeconds(15))));
        foreach (var child in children) child.Dispose();
    }

    public void KillAll()
    {
        foreach (var child in children) child.Kill();
    }

    private BenchChild Start(string name, IReadOnlyDictionary<string, string> environment, params string[] args)
    {
        var child = BenchChild.Start(name, environment, args);
        children.Add(child);
        return child;
    }

    /// <summary>The services from the run's settings, with the run's own bucket and Redis prefix.</summary>
    private Dictionary<string, string> SharedEnvironment() => new()
    {
        ["FARM_BUCKET_DIR"] = resources.Folder ?? "",
        ["FARM_RABBITMQ_URL"] = rabbit.Url,
        ["FARM_REDIS"] = redis.Configuration,
        ["FARM_REDIS_PREFIX"] = resources.RedisPrefix,
        ["FARM_S3_URL"] = s3.Url,
        ["FARM_S3_BUCKET"] = resources.Bucket,
        ["FARM_S3_ACCESS_KEY"] = s3.AccessKey,
        ["FARM_S3_SECRET_KEY"] = s3.SecretKey,
    };

    /// <summary>Polls <paramref name="condition"/> until it holds; a child that exits meanwhile, or two minutes, ends the wait with its output.</summary>
    public async Task WaitAsync(Func<Task<bool>> condition, string what, CancellationToken cancellation)
    {
        var deadline = Stopwatch.StartNew();
        while (!await condition())
        {
            var live = coordinator is null ? children : [coordinator, .. Workers];
            if (live.FirstOrDefault(c => c.HasExited) is { } gone)
                throw new InvalidOperationException($"{gone.Name} exited while waiting for {what}; its last output:\n{gone.LastOutput}");
            if (deadline.Elapsed > StartupLimit)
                throw new TimeoutException($"gave up after {StartupLimit.TotalSeconds:F0} s waiting for {what}; the coordinator's last output:\n{coordinator?.LastOutput}");
            await Task.Delay(250, cancellation);
        }
    }

    private static async Task<HttpStatusCode?> TryGetAsync(HttpClient http, string path)
    {
        try
        {
            using var response = await http.GetAsync(path);
            return response.StatusCode;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            return null;
        }
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}

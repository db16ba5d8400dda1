using System.Diagnostics;
using System.Globalization;
using System.Net;
using Farm.Cli.Commands;
using Farm.Coordinator.Api;
using Farm.Infrastructure;
using Farm.Infrastructure.Messaging;
using Farm.Infrastructure.Storage;
using Farm.Shared.Contracts;
using Farm.Shared.Layout;

namespace Farm.Cli.Bench;

/// <summary>
/// One <c>farm bench farm</c> run against the running services: the bucket alone (signed PUTs), then a coordinator
/// and N simulated workers as child processes on a model, bucket and Redis prefix of the run's own, one sweep of M
/// images timed from submit to completed, with P status pollers. Everything it started is stopped by <see cref="StopChildrenAsync"/>.
/// </summary>
internal sealed class FarmBenchRun(FarmBenchSettings settings, BenchResources resources, RabbitMqOptions rabbit, RedisOptions redis, S3Options s3)
{
    private const int ProbeBytes = 12 * 1024;

    private readonly FarmProcesses processes = new(resources, rabbit, redis, s3, CoordinatorSettings(settings));

    public async Task<int> RunAsync(CancellationToken cancellation)
    {
        var s = settings;
        Console.WriteLine(Invariant($"bench farm: {s.Workers} simulated workers ({s.Steps} steps of {s.StepMs} ms), {s.Images} images in jobs of {s.BatchSize}, {s.Pollers} status pollers, Sweeps:QueuedPerPipeline={s.QueuedPerPipeline}"));
        Console.WriteLine($"  model {resources.Model}, bucket {resources.Bucket}{(resources.Folder is null ? $" on {s3.Url}" : " (a folder)")}, redis prefix {resources.RedisPrefix}");
        await resources.CreateBucketAsync(cancellation);

        var connections = Math.Max(2, s.Workers);
        double putsPerSecond = double.NaN;
        if (s.ProbePuts > 0)
        {
            putsPerSecond = await S3PutProbe.PutsPerSecondAsync(resources.Store, s.ProbePuts, ProbeBytes, connections, cancellation);
            Console.WriteLine(Invariant($"  {resources.BucketKind} alone: {s.ProbePuts} {(resources.Folder is null ? "signed " : "")}12 KB PUTs over {connections} connections: {putsPerSecond:F0} PUT/s, so at most {putsPerSecond / 2:F0} images/s (a PNG and a record each)"));
        }

        var coordinatorUrl = processes.CoordinatorUrl;
        var coordinator = processes.StartCoordinator();
        await processes.WaitForCoordinatorAsync(cancellation);
        int? redisPid = ProcessMemory.PidListeningOn(PortOf(redis.Configuration)), rabbitPid = ProcessMemory.PidListeningOn(RabbitMqNodes.First(rabbit.Url).Port);
        Console.WriteLine($"  coordinator pid {coordinator.Pid} on {coordinatorUrl}; redis pid {Show(redisPid)}, rabbitmq pid {Show(rabbitPid)}");

        var started = Stopwatch.StartNew();
        for (var i = 0; i < s.Workers; i++) processes.StartWorker(i + 1, s.StepMs);
        await processes.WaitForWorkersAsync(s.Workers, cancellation);
        var workerPids = string.Join(", ", processes.Workers.Select(c => c.Pid.ToString(CultureInfo.InvariantCulture)));
        Console.WriteLine(Invariant($"  {s.Workers} workers up in {started.Elapsed.TotalSeconds:F1} s (worker pids {workerPids})"));

        int? s3Pid = resources.Folder is null ? ProcessMemory.PidListeningOn(new Uri(s3.Url).Port) : null;
        var cpu = new Dictionary<string, int[]>
        {
            ["coordinator"] = [coordinator.Pid],
            ["workers"] = processes.Workers.Select(c => c.Pid).ToArray(),
            ["redis"] = redisPid is { } rp ? [rp] : [],
            ["rabbitmq"] = rabbitPid is { } qp ? [qp] : [],
            ["s3rver"] = s3Pid is { } sp ? [sp] : [],
            ["bench"] = [Environment.ProcessId],
        };
        var cpuBefore = cpu.ToDictionary(e => e.Key, e => e.Value.Sum(ProcessCpu.Seconds));
        var machineBefore = ProcessCpu.Machine();
        // Peaks over the run only: the services may have been up for days.
        var reset = new[] { redisPid, rabbitPid }.Where(p => p is not null).All(p => ProcessMemory.ResetPeak(p!.Value));
        var client = new FarmClient(coordinatorUrl);
        var spec = Invariant($$"""{"model":"{{resources.Model}}","prompts":["bench farm"],"seeds":{"start":1,"count":{{s.Images}}},"steps":{{s.Steps}},"width":64,"height":64,"cache":false}""");
        var clock = Stopwatch.StartNew();
        var accepted = await client.SubmitAsync(spec, null, cancellation);
        Console.WriteLine(Invariant($"  sweep {accepted.Id}: {accepted.Images} images, {accepted.Jobs} jobs, accepted in {clock.Elapsed.TotalMilliseconds:F0} ms"));
        await using var pollers = new StatusPollers(coordinatorUrl, accepted.Id, s.Pollers);
        pollers.Start();
        var (status, firstImage) = await WatchAsync(client, accepted.Id, clock, cancellation);
        var wall = clock.Elapsed.TotalSeconds;
        var cpuUsed = cpu.ToDictionary(e => e.Key, e => e.Value.Sum(ProcessCpu.Seconds) - cpuBefore[e.Key]);
        var machineAfter = ProcessCpu.Machine();
        var latencies = await pollers.StopAsync();
        double coordinatorMb = ProcessMemory.PeakMiB(coordinator.Pid);
        double redisMb = redisPid is { } r ? ProcessMemory.PeakMiB(r) : double.NaN, rabbitMb = rabbitPid is { } q ? ProcessMemory.PeakMiB(q) : double.NaN;
        var completed = status.Images.Completed;
        var imagesPerSecond = completed / wall;
        Console.WriteLine(Invariant($"  {status.State}: {completed} of {status.Images.Total} images ({status.Images.Failed} failed) in {wall:F2} s, the first after {firstImage:F2} s: {imagesPerSecond:F1} images/s")
                          + (double.IsNaN(putsPerSecond) ? "" : Invariant($", {100 * imagesPerSecond / (putsPerSecond / 2):F0}% of what {resources.BucketKind} alone stores")));

        var metrics = await ScrapeWorkersAsync(cancellation);
        var (pngs, records, pngBytes, recordBytes, renderSeconds) = await ReadBucketAsync(accepted.Id, cancellation);
        Console.WriteLine(Invariant($"  bucket: {pngs} PNGs (mean {pngBytes:F0} B) and {records} records (mean {recordBytes:F0} B) under {StorageKeys.ImagesPrefix(accepted.Id)}"));
        var overheadMs = 1000 * (s.Workers * wall - renderSeconds) / Math.Max(1, completed);
        Console.WriteLine(Invariant($"  overhead: {overheadMs:F1} ms of worker time per image not spent rendering ({s.Workers} workers × {wall:F2} s wall, {renderSeconds:F2} s rendering in all, from the records' renderSeconds)"));
        WriteWhereTheTimeGoes(metrics, accepted.Jobs, connections, putsPerSecond, firstImage);
        WriteCpu(cpuUsed, machineAfter.Busy - machineBefore.Busy, machineAfter.Total - machineBefore.Total, completed);
        Console.WriteLine(Invariant($"  peak memory (VmHWM): coordinator {coordinatorMb:F0} MB, redis {redisMb:F0} MB, rabbitmq {rabbitMb:F0} MB")
                          + (reset ? " (redis and rabbitmq: over this run)" : " (redis and rabbitmq: since they started; their peak could not be reset)"));
        double p50 = StatusPollers.Percentile(latencies, 50), p99 = StatusPollers.Percentile(latencies, 99);
        Console.WriteLine(Invariant($"  status: {latencies.Count} answers to {s.Pollers} pollers (each every {StatusPollers.Interval.TotalMilliseconds:F0} ms): p50 {p50:F1} ms, p99 {p99:F1} ms, {pollers.Errors} errors"));
        if (s.Keep) Console.WriteLine($"  kept after the run (--keep): bucket {resources.Bucket}, redis keys {resources.RedisPrefix}*");
        Console.WriteLine(Invariant($"images_per_s={imagesPerSecond:F1} overhead_ms={overheadMs:F2} coordinator_mb={coordinatorMb:F0} redis_mb={redisMb:F0} status_p99_ms={p99:F1} ")
                          + Invariant($"images={completed} rabbitmq_mb={rabbitMb:F0} status_p50_ms={p50:F1} s3_puts_per_s={putsPerSecond:F0} queued_per_pipeline={s.QueuedPerPipeline}"));
        return status.State == "completed" ? 0 : 1;
    }

    public Task StopChildrenAsync() => processes.StopAsync();

    public void KillChildren() => processes.KillAll();

    private static Dictionary<string, string> CoordinatorSettings(FarmBenchSettings settings) => new()
    {
        // On loopback, for the bench alone: no keys, and no per-tenant request limit that would turn pollers away with 429.
        ["FARM_AUTH"] = "off",
        ["FARM_TENANT_REQUESTS_PER_SECOND"] = "1000000",
        ["FARM_TENANT_MAX_QUEUED_IMAGES"] = Math.Max(settings.Images, 1_000_000).ToString(CultureInfo.InvariantCulture),
        ["Sweeps__QueuedPerPipeline"] = settings.QueuedPerPipeline.ToString(CultureInfo.InvariantCulture),
        ["Sweeps__DefaultBatchSize"] = settings.BatchSize.ToString(CultureInfo.InvariantCulture),
        ["Sweeps__MaxImages"] = Math.Max(settings.Images, 10_000_000).ToString(CultureInfo.InvariantCulture),
    };

    /// <summary>Polls until the sweep ends (not timed: the pollers are); returns its last status and when its first image was counted.</summary>
    private static async Task<(SweepStatus Status, double FirstImageSeconds)> WatchAsync(FarmClient client, string id, Stopwatch clock, CancellationToken cancellation)
    {
        var first = double.NaN;
        var lastShown = Stopwatch.StartNew();
        while (true)
        {
            var status = await client.StatusAsync(id, cancellation);
            if (double.IsNaN(first) && status.Images.Completed + status.Images.Failed > 0) first = clock.Elapsed.TotalSeconds;
            if (status.State is "completed" or "failed" or "cancelled") return (status, first);
            if (lastShown.Elapsed > TimeSpan.FromSeconds(5))
            {
                Console.WriteLine(Invariant($"    {clock.Elapsed.TotalSeconds:F0} s: {status.Images.Completed} of {status.Images.Total} images"));
                lastShown.Restart();
            }
            await Task.Delay(50, cancellation);
        }
    }

    /// <summary>The workers' /metrics added up: MassTransit's own consume and delivery timings and the farm's render histogram.</summary>
    private async Task<Dictionary<string, double>> ScrapeWorkersAsync(CancellationToken cancellation)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var totals = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var url in processes.WorkerMetricsUrls)
        {
            try
            {
                PrometheusText.Add(totals, PrometheusText.Totals(await http.GetStringAsync(url, cancellation)));
            }
            catch (HttpRequestException)
            {
                // A worker that does not answer leaves its share out.
            }
        }
        return totals;
    }

    /// <summary>
    /// Per job, on the worker side: MassTransit's consume time (the whole <c>Consume</c>: checks, render, upload, count),
    /// the render within it, the rest; the queue wait before delivery; the upload as s3rver alone would take it.
    /// </summary>
    private static void WriteWhereTheTimeGoes(IReadOnlyDictionary<string, double> metrics, long jobs, int connections, double putsPerSecond, double firstImage)
    {
        Console.WriteLine(Invariant($"  where the time goes (per job of {jobs}; worker side from the workers' /metrics, summed):"));
        Console.WriteLine(Invariant($"    publish: the first image was counted {firstImage * 1000:F0} ms after the submit (publish, delivery, render, upload and count of one job)"));
        var consume = MeanMs(metrics, "messaging_masstransit_consume_duration");
        var delivery = MeanMs(metrics, "messaging_masstransit_delivery_duration");
        var render = MeanMs(metrics, "farm_image_render_duration") is var perImage && !double.IsNaN(perImage) && metrics.TryGetValue("farm_image_render_duration_seconds_count", out var images) && jobs > 0
            ? perImage * images / jobs
            : double.NaN;
        if (!double.IsNaN(delivery)) Console.WriteLine(Invariant($"    consume wait: {delivery:F1} ms from publish to delivery (MassTransit delivery duration)"));
        if (!double.IsNaN(consume))
            Console.WriteLine(Invariant($"    consume: {consume:F1} ms per job, of which render {render:F1} ms; the rest ({consume - render:F1} ms) is the checks, upload and count"));
        if (!double.IsNaN(putsPerSecond))
            Console.WriteLine(Invariant($"    upload: a PUT takes about {1000 * connections / putsPerSecond:F1} ms on the bucket alone at {connections} connections; each image is 2 PUTs and 1 HEAD (already stored?)"));
        if (double.IsNaN(consume) && double.IsNaN(delivery)) Console.WriteLine("    (no MassTransit timings in the workers' /metrics)");
    }

    /// <summary>CPU seconds each part used over the run (submit to completed), beside what the whole machine did.</summary>
    private static void WriteCpu(IReadOnlyDictionary<string, double> used, double machineBusy, double machineTotal, long images)
    {
        var parts = string.Join(", ", used.Where(e => e.Value > 0).Select(e => Invariant($"{e.Key} {e.Value:F1} s ({1000 * e.Value / Math.Max(1, images):F1} ms/image)")));
        var ours = used.Values.Where(v => v > 0).Sum();
        Console.WriteLine(Invariant($"    cpu: {parts}; the machine was busy {machineBusy:F1} of {machineTotal:F1} core-seconds, {Math.Max(0, machineBusy - ours):F1} of them outside these processes"));
    }

    /// <summary>The mean of a histogram in ms, whatever unit its name ends in; NaN when it is absent.</summary>
    private static double MeanMs(IReadOnlyDictionary<string, double> metrics, string stem)
    {
        foreach (var (suffix, toMs) in new[] { ("_seconds", 1000.0), ("_milliseconds", 1.0), ("_ms", 1.0), ("", 1000.0) })
            if (metrics.TryGetValue(stem + suffix + "_sum", out var sum) && metrics.TryGetValue(stem + suffix + "_count", out var count) && count > 0)
                return sum / count * toMs;
        return double.NaN;
    }

    /// <summary>The images of the sweep in the bucket, and the render seconds of its jobs from their records (sampled above 5,000 jobs).</summary>
    private async Task<(int Pngs, int Records, double PngBytes, double RecordBytes, double RenderSeconds)> ReadBucketAsync(string sweepId, CancellationToken cancellation)
    {
        var keys = await resources.ListAsync(StorageKeys.ImagesPrefix(sweepId), cancellation);
        var pngs = keys.Where(k => k.Key.EndsWith(".png", StringComparison.Ordinal)).ToList();
        var records = keys.Where(k => k.Key.EndsWith(".json", StringComparison.Ordinal)).ToList();
        // One record per job is enough: renderSeconds is the job's. The first image of a job has index jobIndex × batch.
        var jobFirsts = records.Where((_, i) => i % settings.BatchSize == 0).ToList();
        var sampleEvery = Math.Max(1, jobFirsts.Count / 5000);
        var sample = jobFirsts.Where((_, i) => i % sampleEvery == 0).ToList();
        var bucket = resources.Store;
        var seconds = new double[sample.Count];
        await Parallel.ForEachAsync(Enumerable.Range(0, sample.Count), new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = cancellation }, async (i, ct) =>
        {
            var bytes = await bucket.GetAsync(sample[i].Key, ct);
            seconds[i] = bytes is null ? 0 : FarmJson.Deserialize<ImageRecord>(System.Text.Encoding.UTF8.GetString(bytes)).RenderSeconds;
        });
        var renderSeconds = sample.Count == 0 ? 0 : seconds.Sum() * jobFirsts.Count / sample.Count;
        return (pngs.Count, records.Count, pngs.Count == 0 ? 0 : pngs.Average(k => k.Size), records.Count == 0 ? 0 : records.Average(k => k.Size), renderSeconds);
    }

    /// <summary>The port of a StackExchange.Redis configuration string's first endpoint (6379 when it names none).</summary>
    private static int PortOf(string redisConfiguration)
    {
        var endpoint = redisConfiguration.Split(',')[0].Trim();
        var colon = endpoint.LastIndexOf(':');
        return colon >= 0 && int.TryParse(endpoint[(colon + 1)..], CultureInfo.InvariantCulture, out var port) ? port : 6379;
    }

    private static string Show(int? pid) => pid?.ToString(CultureInfo.InvariantCulture) ?? "not found (not listening here, or not ours)";

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}

using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Amazon.S3.Model;
using Farm.Testing;

namespace Farm.Cli.Tests;

/// <summary>
/// `farm bench farm` as a process on real RabbitMQ, Redis and s3rver: its report matches what the bucket holds, and
/// whether it ends or is interrupted, it leaves no worker, coordinator, bucket or Redis key behind. No timing is
/// asserted: speed is for the benchmark, not the test.
/// </summary>
public sealed partial class FarmBenchTests
{
    private static readonly TimeSpan RunLimit = TimeSpan.FromMinutes(5);

    [Fact]
    public async Task A_small_run_reports_a_rate_and_as_many_images_as_the_bucket_holds()
    {
        using var bench = BenchProcess.Start("--workers", "2", "--images", "40", "--step-ms", "0", "--steps", "2", "--probe-puts", "20", "--keep");
        var code = await bench.WaitAsync(RunLimit);
        var output = bench.Output;
        Assert.True(code == 0, output);
        var fields = output.Trim().Split('\n')[^1].Split(' ').Select(f => f.Split('=', 2)).ToDictionary(f => f[0], f => double.Parse(f[1], CultureInfo.InvariantCulture));
        Assert.Equal(["images_per_s", "overhead_ms", "coordinator_mb", "redis_mb", "status_p99_ms"], fields.Keys.Take(5));
        Assert.True(fields["images_per_s"] > 0, output);
        Assert.True(fields["coordinator_mb"] > 0 && fields["redis_mb"] > 0, output);

        var bucket = BucketName().Match(output).Groups[1].Value;
        try
        {
            var keys = await KeysAsync(bucket, "sweeps/");
            var images = keys.Count(k => k.EndsWith(".png", StringComparison.Ordinal) && k.Contains("/images/", StringComparison.Ordinal));
            var records = keys.Count(k => k.EndsWith(".json", StringComparison.Ordinal) && k.Contains("/images/", StringComparison.Ordinal));
            Assert.Equal((40, 40), (images, records));
            Assert.Equal(images, fields["images"]);
        }
        finally
        {
            await DeleteBucketAsync(bucket);
        }
    }

    [Fact]
    public async Task With_a_folder_bucket_the_workers_store_every_image_in_that_folder()
    {
        using var bench = BenchProcess.Start("--workers", "2", "--images", "12", "--steps", "1", "--probe-puts", "10", "--folder-bucket", "--keep");
        var code = await bench.WaitAsync(RunLimit);
        var output = bench.Output;
        Assert.True(code == 0, output);
        var folder = FolderName().Match(output).Groups[1].Value;
        try
        {
            var images = Directory.GetDirectories(Path.Combine(folder, "sweeps")).Single();
            var files = Directory.GetFiles(Path.Combine(images, "images")).Select(Path.GetFileName).ToList();
            Assert.Equal((12, 12), (files.Count(f => f!.EndsWith(".png", StringComparison.Ordinal)), files.Count(f => f!.EndsWith(".json", StringComparison.Ordinal))));
            Assert.Contains(" images=12 ", output);
        }
        finally
        {
            if (folder.Length > 0 && Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public async Task Interrupted_with_ctrl_c_it_stops_its_workers_and_coordinator_and_deletes_its_bucket_and_redis_keys()
    {
        // Long enough not to end by itself: 10,000 images at 50 ms each on one worker.
        using var bench = BenchProcess.Start("--workers", "1", "--images", "10000", "--step-ms", "50", "--probe-puts", "0", "--pollers", "2");
        await bench.WaitForOutputAsync("sweep sw-", RunLimit);
        var output = bench.Output;
        var bucket = BucketName().Match(output).Groups[1].Value;
        var prefix = RedisPrefix().Match(output).Groups[1].Value;
        var pids = new[] { CoordinatorPid().Match(output), WorkerPids().Match(output) }
            .SelectMany(m => m.Groups[1].Value.Split(", ")).Select(p => int.Parse(p, CultureInfo.InvariantCulture)).ToList();
        Assert.Equal(2, pids.Count);
        using var redis = await TestServices.ConnectRedisAsync();
        var server = redis.GetServer(redis.GetEndPoints()[0]);
        Assert.NotEmpty(server.Keys(pattern: prefix + "*"));

        bench.Interrupt();
        var code = await bench.WaitAsync(TimeSpan.FromSeconds(90));
        Assert.True(code is not 0 and not -1, $"exit {code}\n{bench.Output}");
        Assert.All(pids, pid => Assert.False(Directory.Exists($"/proc/{pid}"), $"pid {pid} still runs\n{bench.Output}"));
        using var s3 = TestServices.CreateS3Client();
        Assert.DoesNotContain(bucket, (await s3.ListBucketsAsync()).Buckets?.Select(b => b.BucketName) ?? []);
        Assert.Empty(server.Keys(pattern: prefix + "*"));
    }

    private static async Task<List<string>> KeysAsync(string bucket, string prefix)
    {
        using var s3 = TestServices.CreateS3Client();
        var keys = new List<string>();
        string? token = null;
        do
        {
            var page = await s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = bucket, Prefix = prefix, ContinuationToken = token });
            keys.AddRange((page.S3Objects ?? []).Select(o => o.Key));
            token = page.IsTruncated == true ? page.NextContinuationToken : null;
        } while (token is not null);
        return keys;
    }

    private static async Task DeleteBucketAsync(string bucket)
    {
        using var s3 = TestServices.CreateS3Client();
        foreach (var key in await KeysAsync(bucket, "")) await s3.DeleteObjectAsync(bucket, key);
        await s3.DeleteBucketAsync(bucket);
    }

    [GeneratedRegex(@"bucket (bench-[0-9a-f]+)")]
    private static partial Regex BucketName();

    [GeneratedRegex(@"bucket (\S+) \(a folder\)")]
    private static partial Regex FolderName();

    [GeneratedRegex(@"redis prefix (bench:[0-9a-f]+:)")]
    private static partial Regex RedisPrefix();

    [GeneratedRegex(@"coordinator pid (\d+)")]
    private static partial Regex CoordinatorPid();

    [GeneratedRegex(@"worker pids ([\d, ]+)\)")]
    private static partial Regex WorkerPids();

    /// <summary><c>farm bench farm ARGS</c> as a child process on the test services; killed on dispose if still running.</summary>
    private sealed class BenchProcess : IDisposable
    {
        private readonly Process process;
        private readonly StringBuilder output = new();

        private BenchProcess(Process process) => this.process = process;

        public string Output
        {
            get
            {
                lock (output) return output.ToString();
            }
        }

        public static BenchProcess Start(params string[] args)
        {
            var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var arg in new[] { typeof(CommandLine).Assembly.Location, "bench", "farm" }.Concat(args)) psi.ArgumentList.Add(arg);
            foreach (var key in psi.Environment.Keys.Where(k => k.StartsWith("FARM_", StringComparison.Ordinal)).ToList()) psi.Environment.Remove(key);
            foreach (var (key, value) in TestServices.Settings("unused")) psi.Environment[key] = value;
            var bench = new BenchProcess(new Process { StartInfo = psi });
            bench.process.OutputDataReceived += (_, e) => bench.Append(e.Data);
            bench.process.ErrorDataReceived += (_, e) => bench.Append(e.Data);
            bench.process.Start();
            bench.process.BeginOutputReadLine();
            bench.process.BeginErrorReadLine();
            return bench;
        }

        private void Append(string? line)
        {
            if (line is null) return;
            lock (output) output.AppendLine(line);
        }

        public async Task WaitForOutputAsync(string text, TimeSpan limit)
        {
            var clock = Stopwatch.StartNew();
            while (!Output.Contains(text, StringComparison.Ordinal))
            {
                if (process.HasExited || clock.Elapsed > limit) throw new TimeoutException($"no '{text}' in the output:\n{Output}");
                await Task.Delay(200);
            }
        }

        /// <summary>SIGINT, what Ctrl+C sends.</summary>
        public void Interrupt()
        {
            using var kill = Process.Start("kill", ["-INT", process.Id.ToString(CultureInfo.InvariantCulture)]);
            kill.WaitForExit();
        }

        /// <summary>The exit code, or -1 when it did not end within <paramref name="limit"/>.</summary>
        public async Task<int> WaitAsync(TimeSpan limit)
        {
            using var deadline = new CancellationTokenSource(limit);
            try
            {
                await process.WaitForExitAsync(deadline.Token);
                process.WaitForExit(); // the last output lines
                return process.ExitCode;
            }
            catch (OperationCanceledException)
            {
                return -1;
            }
        }

        public void Dispose()
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
            process.Dispose();
        }
    }
}

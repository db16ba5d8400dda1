using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using Amazon.S3.Model;
using Farm.Testing;

namespace Farm.Cli.Tests;

/// <summary>The services every chaos test takes down and up: a set of their own, one for the class.</summary>
public sealed class ChaosServicesFixture : IDisposable
{
    public KillableServices Services { get; } = new();

    public void Dispose() => Services.Dispose();
}

/// <summary>A three-node RabbitMQ cluster on loopback with Redis and s3rver, for the node-kill scenario.</summary>
public sealed class ChaosClusterFixture : IDisposable
{
    public KillableServices Services { get; } = new(rabbitNodes: 3);

    public void Dispose() => Services.Dispose();
}

/// <summary>
/// `farm chaos` as a process, each scenario at a small size on services of its own (killed and restarted): it must
/// pass, and the bucket, read here, must hold exactly one PNG and one record per image of the sweep and nothing else.
/// </summary>
public sealed partial class ChaosTests(ChaosServicesFixture fixture) : IClassFixture<ChaosServicesFixture>
{
    private readonly KillableServices services = fixture.Services;

    private const int Images = 120;
    private static readonly TimeSpan RunLimit = TimeSpan.FromSeconds(150);

    [Theory]
    [InlineData("worker-kill")]
    [InlineData("coordinator-kill")]
    [InlineData("rabbitmq-restart")]
    [InlineData("redis-restart")]
    [InlineData("s3-down")]
    public async Task Each_scenario_ends_with_every_image_once_in_the_bucket_and_every_worker_idle(string scenario)
    {
        var output = await RunChaosAsync(scenario, Images, stepMs: 10);
        Assert.True(output.Contains($"  {scenario}: PASS: {Images} images, lost 0, duplicated 0", StringComparison.Ordinal), output);
        await AssertBucketHoldsExactlyAsync(output, Images);
    }

    [Fact]
    public async Task All_the_faults_in_one_sweep_leave_every_image_once_in_the_bucket()
    {
        // Long enough that all five faults land before the sweep ends, even with the other test projects running beside it.
        const int images = 400;
        var output = await RunChaosAsync("all-at-once", images, stepMs: 80);
        Assert.True(output.Contains($"  all-at-once: PASS: {images} images, lost 0, duplicated 0, 5 fault(s)", StringComparison.Ordinal), output);
        await AssertBucketHoldsExactlyAsync(output, images);
    }

    private Task<string> RunChaosAsync(string scenario, int images, int stepMs) => RunChaosAsync(services, scenario, images, stepMs);

    internal static async Task<string> RunChaosAsync(KillableServices services, string scenario, int images, int stepMs)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in new[] { typeof(CommandLine).Assembly.Location, "chaos", "--scenario", scenario, "--images", images.ToString(), "--workers", "2",
                     "--step-ms", stepMs.ToString(), "--s3-down-s", "3", "--kill-every-s", "2", "--sweep-limit-s", "120", "--services-dir", services.Directory, "--keep" })
            psi.ArgumentList.Add(arg);
        foreach (var key in psi.Environment.Keys.Where(k => k.StartsWith("FARM_", StringComparison.Ordinal)).ToList()) psi.Environment.Remove(key);
        foreach (var (key, value) in services.Settings) psi.Environment[key] = value;
        var output = new StringBuilder();
        using var process = new Process { StartInfo = psi };
        process.OutputDataReceived += (_, e) => { lock (output) output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { lock (output) output.AppendLine(e.Data); };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var limit = new CancellationTokenSource(RunLimit);
        try
        {
            await process.WaitForExitAsync(limit.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
        }
        process.WaitForExit();
        string text;
        lock (output) text = output.ToString();
        Assert.True(process.ExitCode == 0, $"exit {process.ExitCode}\n{text}");
        return text;
    }

    /// <summary>From the bucket alone: indices 0..images-1 each with its .png and .json under images/, the manifest, and nothing else but the contact sheet and grids.</summary>
    private Task AssertBucketHoldsExactlyAsync(string output, int images) => AssertBucketHoldsExactlyAsync(services, output, images);

    internal static async Task AssertBucketHoldsExactlyAsync(KillableServices services, string output, int images)
    {
        var bucket = BucketName().Match(output).Groups[1].Value;
        var sweep = SweepId().Match(output).Groups[1].Value;
        using var s3 = services.CreateS3Client();
        var keys = new List<string>();
        string? token = null;
        do
        {
            var page = await s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = bucket, ContinuationToken = token });
            keys.AddRange((page.S3Objects ?? []).Select(o => o.Key));
            token = page.IsTruncated == true ? page.NextContinuationToken : null;
        } while (token is not null);
        try
        {
            var expected = Enumerable.Range(0, images).SelectMany(i => new[] { $"sweeps/{sweep}/images/{i:D8}.png", $"sweeps/{sweep}/images/{i:D8}.json" })
                .Append($"sweeps/{sweep}/manifest.json").Order(StringComparer.Ordinal).ToList();
            // The contact sheet and the grid are drawn from the images once the sweep ends; what matters is the images.
            var drawn = keys.Where(k => k == $"sweeps/{sweep}/contact-sheet.png" || k.StartsWith($"sweeps/{sweep}/grids/", StringComparison.Ordinal)).ToList();
            // Outside the sweep's prefix the bucket holds only the render cache's index (cache/<tenant>/…).
            var underSweep = keys.Where(k => k.StartsWith($"sweeps/{sweep}/", StringComparison.Ordinal)).Except(drawn);
            Assert.Equal(expected, underSweep.Order(StringComparer.Ordinal).ToList());
            Assert.All(keys.Where(k => !k.StartsWith($"sweeps/{sweep}/", StringComparison.Ordinal)), k => Assert.StartsWith("cache/", k));
        }
        finally
        {
            foreach (var chunk in keys.Chunk(1000))
                await s3.DeleteObjectsAsync(new DeleteObjectsRequest { BucketName = bucket, Objects = chunk.Select(k => new KeyVersion { Key = k }).ToList() });
            await s3.DeleteBucketAsync(bucket);
        }
    }

    [GeneratedRegex(@"bucket (chaos-[0-9a-f]+)")]
    private static partial Regex BucketName();

    [GeneratedRegex(@"sweep (sw-[0-9a-f]+):")]
    private static partial Regex SweepId();
}

[Collection("console")]
public sealed class ChaosCommandTests
{
    [Fact]
    public async Task An_unknown_scenario_is_refused_naming_the_option()
    {
        var (code, error) = await Cli.Run("chaos", "--scenario", "meteor");
        Assert.NotEqual(0, code);
        Assert.Contains("--scenario: no scenario 'meteor'", error);
    }

    [Fact]
    public async Task A_services_dir_with_no_running_set_is_refused_naming_the_option()
    {
        var empty = Directory.CreateTempSubdirectory("farm-chaos-none.").FullName;
        try
        {
            var (code, error) = await Cli.Run("chaos", "--services-dir", empty);
            Assert.NotEqual(0, code);
            Assert.Contains($"--services-dir: no running services set in {empty}", error);
        }
        finally
        {
            Directory.Delete(empty);
        }
    }
}

/// <summary>`farm chaos --scenario rabbitmq-node-kill` on a three-node cluster: the farm goes on on the survivors and takes the node back.</summary>
public sealed class ChaosClusterTests(ChaosClusterFixture fixture) : IClassFixture<ChaosClusterFixture>
{
    // Known failure, kept visible: killed 2 s into the sweep, the survivors counted nothing for about two minutes,
    // until the node came back (docs/reliability.md, "Open: a stall on the survivors"). Not yet diagnosed; issue 15 stays open on it.
    [Fact(Skip = "known failure: the farm stalls until a killed first node returns (docs/reliability.md, Open: a stall on the survivors)")]
    public async Task Killing_the_first_node_of_a_three_node_cluster_mid_sweep_loses_nothing()
    {
        var output = await ChaosTests.RunChaosAsync(fixture.Services, "rabbitmq-node-kill", 300, stepMs: 10);
        Assert.True(output.Contains("  rabbitmq-node-kill: PASS: 300 images, lost 0, duplicated 0, 2 fault(s)", StringComparison.Ordinal), output);
        await ChaosTests.AssertBucketHoldsExactlyAsync(fixture.Services, output, 300);
    }
}

using System.Diagnostics;
using Amazon.Runtime;
using Amazon.S3;

namespace Farm.Testing;

/// <summary>
/// A set of RabbitMQ, Redis and s3rver of its own (scripts/services.sh, free loopback ports, a temp dir) for tests that
/// kill and restart services: the shared <see cref="TestServices"/> set must stay up for every other test. Not ephemeral,
/// so Redis keeps its AOF across a restart as a real one does; <see cref="Dispose"/> stops the set and deletes its directory,
/// and the script's watcher does the same if the test process is killed.
/// </summary>
public sealed class KillableServices : IDisposable
{
    /// <param name="rabbitNodes">RabbitMQ nodes: 3 starts a cluster on loopback (<c>services.sh start --rabbit-nodes 3</c>).</param>
    public KillableServices(int rabbitNodes = 1)
    {
        Script = FindScript();
        Directory = System.IO.Directory.CreateTempSubdirectory("farm-chaos-services.").FullName;
        Run("start", "--dir", Directory, "--auto-ports", "--owner-pid", Environment.ProcessId.ToString(), "--rabbit-nodes", rabbitNodes.ToString(), "--quiet");
        Settings = File.ReadAllLines(Path.Combine(Directory, "services.env")).Select(l => l.Split('=', 2)).Where(kv => kv.Length == 2)
            .ToDictionary(kv => kv[0], kv => kv[1]);
    }

    public string Script { get; }
    public string Directory { get; }
    /// <summary>The FARM_* settings of the set (its services.env).</summary>
    public IReadOnlyDictionary<string, string> Settings { get; }

    public AmazonS3Client CreateS3Client() => new(new BasicAWSCredentials(Settings["FARM_S3_ACCESS_KEY"], Settings["FARM_S3_SECRET_KEY"]), new AmazonS3Config
    {
        ServiceURL = Settings["FARM_S3_URL"],
        ForcePathStyle = true,
        AuthenticationRegion = "us-east-1",
        RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
        ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
    });

    public void Dispose()
    {
        Run("stop", "--dir", Directory, "--quiet");
        if (System.IO.Directory.Exists(Directory)) System.IO.Directory.Delete(Directory, recursive: true);
    }

    private void Run(params string[] args)
    {
        var psi = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(Script);
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var process = Process.Start(psi) ?? throw new InvalidOperationException("could not run bash");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(3))) process.Kill(entireProcessTree: true);
        if (process.ExitCode != 0) throw new InvalidOperationException($"services.sh {string.Join(' ', args)} failed ({process.ExitCode}):\n{output.Result}{error.Result}");
    }

    private static string FindScript()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "scripts", "services.sh");
            if (File.Exists(candidate)) return candidate;
        }
        throw new InvalidOperationException("scripts/services.sh not found above " + AppContext.BaseDirectory);
    }
}

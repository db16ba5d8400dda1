using System.Diagnostics;

namespace Farm.Cli.Chaos;

/// <summary>
/// The local services of one <c>scripts/services.sh</c> set (its directory): one of them taken down as a fault would
/// take it (<c>services.sh kill</c>), and brought back on the same ports and data (<c>services.sh start</c>).
/// </summary>
internal sealed class ServiceSet(string directory)
{
    public string Directory { get; } = directory;

    public bool Exists => File.Exists(Path.Combine(Directory, "services.env"));

    /// <summary>SIGTERM (a clean stop: Redis writes its AOF), or SIGKILL when <paramref name="hard"/>.</summary>
    public Task KillAsync(string service, bool hard, CancellationToken cancellation) =>
        RunAsync(cancellation, ["kill", service, .. hard ? new[] { "--hard" } : [], "--dir", Directory, "--quiet"]);

    /// <summary>Starts whatever of the set is down and returns once all of it answers.</summary>
    public Task StartAsync(CancellationToken cancellation) => RunAsync(cancellation, "start", "--dir", Directory, "--quiet");

    private static async Task RunAsync(CancellationToken cancellation, params string[] args)
    {
        var psi = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(Script());
        foreach (var arg in args) psi.ArgumentList.Add(arg);
        using var process = Process.Start(psi) ?? throw new InvalidOperationException("could not run bash");
        var output = process.StandardOutput.ReadToEndAsync(cancellation);
        var error = process.StandardError.ReadToEndAsync(cancellation);
        await process.WaitForExitAsync(cancellation);
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"services.sh {string.Join(' ', args)} exited with {process.ExitCode}:\n{await output}{await error}");
    }

    /// <summary>scripts/services.sh of this checkout: under FARM_ROOT (set by ./farm), else above the CLI's build.</summary>
    private static string Script()
    {
        if (Environment.GetEnvironmentVariable("FARM_ROOT") is { Length: > 0 } root && File.Exists(Path.Combine(root, "scripts", "services.sh")))
            return Path.Combine(root, "scripts", "services.sh");
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "scripts", "services.sh");
            if (File.Exists(candidate)) return candidate;
        }
        throw new InvalidOperationException("scripts/services.sh not found (set FARM_ROOT, or run through ./farm)");
    }
}

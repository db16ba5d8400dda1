using System.Diagnostics;
using System.Text;

namespace Farm.GpuWorker.Tests.Support;

/// <summary>
/// <c>farm worker</c> as a child process (the CLI built beside these tests), with the FARM_* settings of a test.
/// Its output is kept for failure messages; it is always killed, with its whole tree, on dispose.
/// </summary>
internal sealed class WorkerProcess : IDisposable
{
    private readonly Process process;
    private readonly StringBuilder output = new();

    private WorkerProcess(string id, Process process)
    {
        Id = id;
        this.process = process;
    }

    public string Id { get; }
    public bool HasExited => process.HasExited;

    public string Output
    {
        get
        {
            lock (output) return output.ToString();
        }
    }

    public static WorkerProcess Start(string id, string modelsDir, IReadOnlyDictionary<string, string> settings) =>
        // One intra-op thread: two workers and the test share a small machine, and the test's local renders use one too.
        StartCli(id, settings, "worker", "--models", modelsDir, "--id", id, "--threads", "1");

    /// <summary>Any long-running CLI command (<c>worker</c>, <c>coordinator</c>) as a child process with these settings.</summary>
    public static WorkerProcess StartCli(string id, IReadOnlyDictionary<string, string> settings, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { CliDll }.Concat(args)) psi.ArgumentList.Add(arg);
        foreach (var key in psi.Environment.Keys.Where(k => k.StartsWith("FARM_", StringComparison.Ordinal)).ToList()) psi.Environment.Remove(key);
        foreach (var (key, value) in settings) psi.Environment[key] = value;
        var process = new Process { StartInfo = psi };
        var worker = new WorkerProcess(id, process);
        process.OutputDataReceived += (_, e) => worker.Append(e.Data);
        process.ErrorDataReceived += (_, e) => worker.Append(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return worker;
    }

    private void Append(string? line)
    {
        if (line is null) return;
        lock (output) output.AppendLine(line);
    }

    /// <summary>Sends SIGTERM (what docker stop, systemd and Kubernetes send) and waits, bounded, for the exit.</summary>
    public async Task<(int? Code, TimeSpan Took)> TerminateAsync(TimeSpan limit)
    {
        var clock = Stopwatch.StartNew();
        using (var kill = Process.Start("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            await kill.WaitForExitAsync();
        using var deadline = new CancellationTokenSource(limit);
        try
        {
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            return (null, clock.Elapsed);
        }
        return (process.ExitCode, clock.Elapsed);
    }

    /// <summary>Kills the worker and its children at once (no graceful stop: this is the crash case).</summary>
    public void Kill()
    {
        if (process.HasExited) return;
        process.Kill(entireProcessTree: true);
        process.WaitForExit(10_000);
    }

    public void Dispose()
    {
        try
        {
            Kill();
        }
        catch (InvalidOperationException)
        {
            // Never started or already gone.
        }
        process.Dispose();
    }

    /// <summary>Runs the CLI to completion (bounded), returning its exit code and output.</summary>
    public static Task<(int Code, string Output)> RunCliAsync(TimeSpan timeout, params string[] args) =>
        RunCliAsync(timeout, new Dictionary<string, string>(), args);

    /// <summary>Runs the CLI to completion (bounded) with these FARM_* settings, returning its exit code and output.</summary>
    public static async Task<(int Code, string Output)> RunCliAsync(TimeSpan timeout, IReadOnlyDictionary<string, string> settings, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var (key, value) in settings) psi.Environment[key] = value;
        psi.ArgumentList.Add(CliDll);
        foreach (var arg in args) psi.ArgumentList.Add(arg);
        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var deadline = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            return (-1, $"farm {string.Join(' ', args)} timed out after {timeout}");
        }
        return (process.ExitCode, await stdout + await stderr);
    }

    /// <summary>src/Cli/bin/&lt;configuration of these tests&gt;/net10.0/Farm.Cli.dll (the project reference builds it first).</summary>
    public static string CliDll { get; } = FindCli();

    private static string FindCli()
    {
        var configuration = new DirectoryInfo(AppContext.BaseDirectory).Parent?.Name ?? "Release";
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "src", "Cli", "bin", configuration, "net10.0", "Farm.Cli.dll");
            if (File.Exists(candidate)) return candidate;
        }
        throw new InvalidOperationException($"Farm.Cli.dll ({configuration}) not found above {AppContext.BaseDirectory}; build Farm.sln -c {configuration}");
    }
}

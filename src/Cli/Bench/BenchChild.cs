using System.Diagnostics;
using System.Globalization;

namespace Farm.Cli.Bench;

/// <summary>
/// A <c>farm</c> command (<c>coordinator</c>, <c>worker</c>) the bench runs as a child process of its own, with the
/// settings it was given. The last lines of its output are kept for error messages; dispose kills it and its children.
/// </summary>
internal sealed class BenchChild : IDisposable
{
    private const int KeptLines = 40;

    private readonly Process process;
    private readonly Queue<string> lastLines = new();

    private BenchChild(string name, Process process)
    {
        Name = name;
        this.process = process;
    }

    public string Name { get; }
    public int Pid => process.Id;
    public bool HasExited => process.HasExited;

    /// <summary>The CLI this process runs from; children run the same build.</summary>
    public static string CliDll { get; } = typeof(BenchChild).Assembly.Location;

    public static BenchChild Start(string name, IReadOnlyDictionary<string, string> environment, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(CliDll);
        foreach (var arg in args) psi.ArgumentList.Add(arg);
        foreach (var (key, value) in environment) psi.Environment[key] = value;
        var child = new BenchChild(name, new Process { StartInfo = psi });
        child.process.OutputDataReceived += (_, e) => child.Keep(e.Data);
        child.process.ErrorDataReceived += (_, e) => child.Keep(e.Data);
        child.process.Start();
        child.process.BeginOutputReadLine();
        child.process.BeginErrorReadLine();
        return child;
    }

    public string LastOutput
    {
        get
        {
            lock (lastLines) return string.Join('\n', lastLines);
        }
    }

    private void Keep(string? line)
    {
        if (line is null) return;
        lock (lastLines)
        {
            lastLines.Enqueue(line);
            while (lastLines.Count > KeptLines) lastLines.Dequeue();
        }
    }

    /// <summary>SIGTERM (a graceful stop), then a kill once <paramref name="limit"/> has passed.</summary>
    public async Task StopAsync(TimeSpan limit)
    {
        if (process.HasExited) return;
        using (var term = Process.Start("kill", ["-TERM", process.Id.ToString(CultureInfo.InvariantCulture)])) await term.WaitForExitAsync();
        using var deadline = new CancellationTokenSource(limit);
        try
        {
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            Kill();
        }
    }

    public void Kill()
    {
        try
        {
            if (process.HasExited) return;
            process.Kill(entireProcessTree: true);
            process.WaitForExit(10_000);
        }
        catch (InvalidOperationException)
        {
            // Never started or already gone.
        }
    }

    public void Dispose()
    {
        Kill();
        process.Dispose();
    }
}

namespace Farm.GpuWorker.Tests.Support;

/// <summary>
/// The tiny random-weight model (<c>farm model init-tiny</c>, the default seed), written once per test run; each
/// test gets a models folder of its own where it appears under a unique name (a symbolic link), so each test
/// has its own model queue.
/// </summary>
internal sealed class TinyModels : IDisposable
{
    private static readonly SemaphoreSlim gate = new(1, 1);
    private static string? written;

    private TinyModels(string dir, string name)
    {
        Dir = dir;
        Name = name;
    }

    /// <summary>The models folder to pass as <c>--models</c>.</summary>
    public string Dir { get; }

    /// <summary>The model's name: the name of its folder under <see cref="Dir"/>.</summary>
    public string Name { get; }

    public string ModelDir => Path.Combine(Dir, Name);

    public static async Task<TinyModels> CreateAsync(string name)
    {
        var source = await WriteOnceAsync();
        var dir = Directory.CreateTempSubdirectory("farm-models-").FullName;
        Directory.CreateSymbolicLink(Path.Combine(dir, name), source);
        return new TinyModels(dir, name);
    }

    private static async Task<string> WriteOnceAsync()
    {
        await gate.WaitAsync();
        try
        {
            if (written is not null) return written;
            var dir = Path.Combine(Directory.CreateTempSubdirectory("farm-tiny-").FullName, "tiny");
            var (code, output) = await WorkerProcess.RunCliAsync(TimeSpan.FromMinutes(1), "model", "init-tiny", dir);
            if (code != 0) throw new InvalidOperationException($"farm model init-tiny failed ({code}): {output}");
            AppDomain.CurrentDomain.ProcessExit += (_, _) => Directory.Delete(Path.GetDirectoryName(dir)!, recursive: true);
            return written = dir;
        }
        finally
        {
            gate.Release();
        }
    }

    public void Dispose() => Directory.Delete(Dir, recursive: true);
}

using Farm.Diffusion.Models.Loading;
using Farm.Shared.Contracts;
using Microsoft.Extensions.Logging;

namespace Farm.GpuWorker.Models;

/// <summary>
/// The models of a worker's <c>--models DIR</c>, by name: diffusers folders (<c>DIR/NAME/model_index.json</c>) and
/// single checkpoints (<c>DIR/NAME.safetensors</c>, <c>DIR/NAME.ckpt</c>, with an optional <c>DIR/NAME.yaml</c> and an
/// optional config folder <c>DIR/NAME.config/</c> in diffusers layout for what a YAML cannot say). <c>loras/</c> and
/// <c>embeddings/</c> hold adapters (<see cref="AdapterLibrary"/>). A file that cannot be read is left out with a
/// warning, so one bad download never stops a worker; the hash of each model is computed in the background.
/// </summary>
internal sealed class ModelLibrary
{
    private readonly Dictionary<string, ServedModel> models;

    private ModelLibrary(string directory, Dictionary<string, ServedModel> models)
    {
        Directory = directory;
        this.models = models;
        Adapters = new AdapterLibrary(directory);
    }

    public string Directory { get; }

    public AdapterLibrary Adapters { get; }

    public IReadOnlyList<string> Names => models.Keys.Order(StringComparer.Ordinal).ToList();

    public ServedModel this[string name] => models[name];

    public bool Contains(string name) => models.ContainsKey(name);

    /// <summary>Name, family and (once known) hash of every model, for the heartbeat.</summary>
    public IReadOnlyList<WorkerModel> Describe() =>
        Names.Select(n => models[n]).Select(m => new WorkerModel(m.Name, m.Family, m.Sha256.IsCompletedSuccessfully ? m.Sha256.Result : null)).ToList();

    public static ModelLibrary Scan(string directory, ILogger? log = null)
    {
        var found = new Dictionary<string, ServedModel>(StringComparer.Ordinal);
        if (!System.IO.Directory.Exists(directory)) return new ModelLibrary(directory, found);
        var candidates = System.IO.Directory.EnumerateDirectories(directory)
            .Where(d => File.Exists(Path.Combine(d, "model_index.json")))
            .Select(d => (Name: Path.GetFileName(d), Path: d, Config: (string?)null))
            .Concat(System.IO.Directory.EnumerateFiles(directory)
                .Where(f => f.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase) || f.EndsWith(".ckpt", StringComparison.OrdinalIgnoreCase))
                .Select(f => (Name: Path.GetFileNameWithoutExtension(f), Path: f, Config: ConfigFolder(f))));
        foreach (var (name, path, config) in candidates.OrderBy(c => c.Path, StringComparer.Ordinal))
        {
            if (found.TryGetValue(name, out var first))
            {
                log?.LogWarning("model {Model}: {Path} is left out, the name is already taken by {First}", name, path, first.Path);
                continue;
            }
            try
            {
                using var source = ModelSource.Open(path, config);
                var family = source.Family.ToString().ToLowerInvariant();
                found[name] = new ServedModel(name, path, config, family, Task.Run(() => HashOf(path, config)));
            }
            catch (Exception e) when (e is IOException or InvalidDataException or NotSupportedException or ArgumentException or UnauthorizedAccessException)
            {
                log?.LogWarning("model {Path} is left out: {Reason}", path, e.Message);
            }
        }
        return new ModelLibrary(directory, found);
    }

    private static string? ConfigFolder(string file)
    {
        var folder = Path.Combine(Path.GetDirectoryName(file)!, Path.GetFileNameWithoutExtension(file) + ".config");
        return System.IO.Directory.Exists(folder) ? folder : null;
    }

    private static string HashOf(string path, string? config)
    {
        using var source = ModelSource.Open(path, config);
        return source.Hash;
    }
}

/// <summary>One servable model: where it is, its optional config folder, its family, and its weights' SHA-256 (computed once, in the background).</summary>
internal sealed record ServedModel(string Name, string Path, string? ConfigDirectory, string Family, Task<string> Sha256);

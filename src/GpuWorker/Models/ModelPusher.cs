using System.Security.Cryptography;
using System.Text;
using Farm.Diffusion.Models.Loading;
using Farm.Infrastructure.Storage;
using Farm.Shared.Layout;

namespace Farm.GpuWorker.Models;

/// <summary>
/// Puts a model into the bucket for workers started with <c>--models-from-bucket</c>: a diffusers folder, or a single
/// checkpoint with its optional YAML and config folder. Files are streamed and hashed; the manifest goes last, so a
/// push cut short leaves no model that workers would see.
/// </summary>
public static class ModelPusher
{
    public static async Task<ModelManifest> PushAsync(IObjectStore bucket, string path, string name, string? configDirectory,
        Action<string>? progress, CancellationToken cancellation)
    {
        if (ModelManifest.NameProblem(name) is { } problem) throw new ArgumentException(problem);
        var (weights, config) = Directory.Exists(path) ? (path, (string?)null) : (path, configDirectory);
        string family, weightsHash;
        using (var source = ModelSource.Open(weights, config))
            (family, weightsHash) = (source.Family.ToString().ToLowerInvariant(), source.Hash);

        var entries = new List<ModelFileEntry>();
        foreach (var (local, relative) in FilesOf(path, name, configDirectory))
        {
            progress?.Invoke(relative);
            await using var file = File.OpenRead(local);
            var sha = Convert.ToHexStringLower(await SHA256.HashDataAsync(file, cancellation));
            file.Position = 0;
            await bucket.PutStreamAsync(StorageKeys.ModelFile(name, relative), file, "application/octet-stream", cancellation);
            entries.Add(new ModelFileEntry(relative, file.Length, sha));
        }
        var manifest = new ModelManifest(name, family, weightsHash, entries, DateTimeOffset.UtcNow);
        await bucket.PutAsync(StorageKeys.ModelManifest(name), Encoding.UTF8.GetBytes(manifest.ToJson()), "application/json", cancellation);
        return manifest;
    }

    /// <summary>Each file and its path in a models folder: <c>NAME/…</c> for a folder; <c>NAME.ext</c>, <c>NAME.yaml</c>, <c>NAME.config/…</c> for a checkpoint.</summary>
    private static IEnumerable<(string Local, string Relative)> FilesOf(string path, string name, string? configDirectory)
    {
        if (Directory.Exists(path))
        {
            foreach (var file in Directory.EnumerateFiles(path, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
                yield return (file, $"{name}/{Path.GetRelativePath(path, file).Replace(Path.DirectorySeparatorChar, '/')}");
            yield break;
        }
        yield return (path, name + Path.GetExtension(path).ToLowerInvariant());
        var yaml = Path.ChangeExtension(path, ".yaml");
        if (File.Exists(yaml)) yield return (yaml, name + ".yaml");
        if (configDirectory is null) yield break;
        foreach (var file in Directory.EnumerateFiles(configDirectory, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
            yield return (file, $"{name}.config/{Path.GetRelativePath(configDirectory, file).Replace(Path.DirectorySeparatorChar, '/')}");
    }
}

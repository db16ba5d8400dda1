using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Farm.Infrastructure.Storage;
using Farm.Shared.Layout;
using Microsoft.Extensions.Logging;

namespace Farm.GpuWorker.Models;

/// <summary>
/// Bucket models on this machine: <see cref="Root"/> is laid out like a <c>--models</c> folder. A model is downloaded on
/// its first use into <c>.partial/</c>, every file checked against the manifest's SHA-256 (a mismatch is an error naming
/// the key, never a load), then moved into place; past <see cref="MaxBytes"/> the least recently used models go.
/// </summary>
public sealed class ModelCache(IObjectStore bucket, string root, long maxBytes, ILogger? log = null)
{
    private readonly ConcurrentDictionary<string, SemaphoreSlim> locks = new(StringComparer.Ordinal);

    public string Root { get; } = Path.GetFullPath(root);
    public long MaxBytes { get; } = maxBytes;

    /// <summary>The models the bucket holds (their manifests); one that cannot be read is left out, told to <paramref name="skipped"/>.</summary>
    public static async Task<IReadOnlyList<ModelManifest>> ListAsync(IObjectStore bucket, CancellationToken cancellation, Action<string>? skipped = null)
    {
        var manifests = new List<ModelManifest>();
        await foreach (var key in bucket.ListAsync(StorageKeys.ModelsPrefix, cancellation))
        {
            if (!key.EndsWith("/manifest.json", StringComparison.Ordinal) || key.Count(c => c == '/') != 2) continue;
            if (await bucket.GetAsync(key, cancellation) is not { } json) continue;
            try
            {
                manifests.Add(ModelManifest.Parse(Encoding.UTF8.GetString(json), key));
            }
            catch (InvalidDataException e)
            {
                skipped?.Invoke($"left out: {e.Message}");
            }
        }
        return manifests;
    }

    /// <summary>Makes the model's files present and verified under <see cref="Root"/>, downloading them if needed.</summary>
    public async Task EnsureAsync(ModelManifest model, CancellationToken cancellation)
    {
        var gate = locks.GetOrAdd(model.Name, _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(cancellation);
        try
        {
            Touch(model.Name);
            if (IsComplete(model)) return;
            await DownloadAsync(model, cancellation);
            Evict(keep: model);
        }
        finally
        {
            gate.Release();
        }
    }

    private bool IsComplete(ModelManifest model) =>
        File.Exists(Marker(model.Name)) && File.ReadAllText(Marker(model.Name)) == model.WeightsSha256
        && model.Files.All(f => File.Exists(Path.Combine(Root, f.Path)));

    private async Task DownloadAsync(ModelManifest model, CancellationToken cancellation)
    {
        log?.LogInformation("model {Model}: downloading {Bytes:N0} bytes from the bucket into {Root}", model.Name, model.Bytes, Root);
        var partial = Path.Combine(Root, ".partial", model.Name);
        if (Directory.Exists(partial)) Directory.Delete(partial, recursive: true);
        foreach (var file in model.Files)
        {
            var key = StorageKeys.ModelFile(model.Name, file.Path);
            var target = Path.Combine(partial, file.Path);
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            await using (var stream = File.Create(target))
                if (!await bucket.CopyToAsync(key, stream, cancellation)) throw new InvalidDataException($"{key} is missing from the bucket; push the model again");
            await using var written = File.OpenRead(target);
            var sha = Convert.ToHexStringLower(await SHA256.HashDataAsync(written, cancellation));
            if (sha != file.Sha256)
                throw new InvalidDataException($"{key} does not match its manifest (SHA-256 {sha}, expected {file.Sha256}): the object is corrupted or was replaced; push the model again");
        }
        Remove(model);
        foreach (var entry in TopLevelEntries(model)) Move(Path.Combine(partial, entry), Path.Combine(Root, entry));
        Directory.Delete(partial, recursive: true);
        File.WriteAllText(Marker(model.Name), model.WeightsSha256);
    }

    /// <summary>Least recently used first, keeping <paramref name="keep"/>, until the cached models fit.</summary>
    private void Evict(ModelManifest keep)
    {
        var cached = Directory.Exists(MarkersDir)
            ? Directory.EnumerateFiles(MarkersDir).Select(f => (Name: Path.GetFileName(f), Used: File.GetLastWriteTimeUtc(f))).OrderBy(m => m.Used).ToList()
            : [];
        long total = cached.Sum(m => SizeOf(m.Name));
        foreach (var (name, _) in cached)
        {
            if (total <= MaxBytes) break;
            if (name == keep.Name) continue;
            total -= SizeOf(name);
            log?.LogInformation("model {Model}: evicted from the cache (least recently used; the cache holds at most {Bytes:N0} bytes)", name, MaxBytes);
            foreach (var entry in Directory.EnumerateFileSystemEntries(Root, name + "*").Where(e => IsEntryOf(Path.GetFileName(e), name))) Delete(entry);
            File.Delete(Path.Combine(MarkersDir, name));
        }
    }

    private long SizeOf(string name) =>
        Directory.EnumerateFileSystemEntries(Root, name + "*").Where(e => IsEntryOf(Path.GetFileName(e), name))
            .Sum(e => Directory.Exists(e) ? Directory.EnumerateFiles(e, "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length) : new FileInfo(e).Length);

    private void Remove(ModelManifest model)
    {
        foreach (var entry in TopLevelEntries(model)) Delete(Path.Combine(Root, entry));
    }

    private static IEnumerable<string> TopLevelEntries(ModelManifest model) => model.Files.Select(f => f.Path.Split('/')[0]).Distinct(StringComparer.Ordinal);

    // NAME/ (a folder), NAME.safetensors, NAME.yaml, NAME.config/: never another model whose name starts the same.
    private static bool IsEntryOf(string entry, string name) => entry == name || entry.StartsWith(name + ".", StringComparison.Ordinal) && entry.IndexOf('.', name.Length + 1) < 0;

    private void Touch(string name)
    {
        Directory.CreateDirectory(MarkersDir);
        if (File.Exists(Marker(name))) File.SetLastWriteTimeUtc(Marker(name), DateTime.UtcNow);
    }

    private string MarkersDir => Path.Combine(Root, ".used");
    private string Marker(string name) => Path.Combine(MarkersDir, name);

    private static void Move(string from, string to)
    {
        if (Directory.Exists(from)) Directory.Move(from, to);
        else File.Move(from, to, overwrite: true);
    }

    private static void Delete(string path)
    {
        if (Directory.Exists(path)) Directory.Delete(path, recursive: true);
        else if (File.Exists(path)) File.Delete(path);
    }
}

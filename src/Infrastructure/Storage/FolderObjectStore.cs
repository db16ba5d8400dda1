using System.Runtime.CompilerServices;

namespace Farm.Infrastructure.Storage;

/// <summary>A local folder as the bucket: key <c>a/b.png</c> is the file <c>ROOT/a/b.png</c>. Writes are atomic (temp file + rename).</summary>
public sealed class FolderObjectStore(string root) : IObjectStore
{
    public string Root { get; } = Path.GetFullPath(root);

    public string Location => Root;

    public async Task PutAsync(string key, ReadOnlyMemory<byte> bytes, string contentType, CancellationToken cancellation = default)
    {
        var path = PathOf(key);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var temp = $"{path}.{Guid.NewGuid():N}.tmp";
        await File.WriteAllBytesAsync(temp, bytes.ToArray(), cancellation);
        File.Move(temp, path, overwrite: true);
    }

    public async Task PutStreamAsync(string key, Stream content, string contentType, CancellationToken cancellation = default)
    {
        var path = PathOf(key);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var temp = $"{path}.{Guid.NewGuid():N}.tmp";
        await using (var file = File.Create(temp)) await content.CopyToAsync(file, cancellation);
        File.Move(temp, path, overwrite: true);
    }

    public async Task<bool> CopyToAsync(string key, Stream destination, CancellationToken cancellation = default)
    {
        try
        {
            await using var file = File.OpenRead(PathOf(key));
            await file.CopyToAsync(destination, cancellation);
            return true;
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return false;
        }
    }

    public Task<bool> CopyAsync(string sourceKey, string destinationKey, CancellationToken cancellation = default)
    {
        var source = PathOf(sourceKey);
        var path = PathOf(destinationKey);
        if (!File.Exists(source)) return Task.FromResult(false);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var temp = $"{path}.{Guid.NewGuid():N}.tmp";
        try
        {
            File.Copy(source, temp);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return Task.FromResult(false);
        }
        File.Move(temp, path, overwrite: true);
        return Task.FromResult(true);
    }

    public async Task<byte[]?> GetAsync(string key, CancellationToken cancellation = default)
    {
        var path = PathOf(key);
        try
        {
            return await File.ReadAllBytesAsync(path, cancellation);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
    }

    public Task<bool> ExistsAsync(string key, CancellationToken cancellation = default) => Task.FromResult(File.Exists(PathOf(key)));

    public async IAsyncEnumerable<string> ListAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellation = default)
    {
        await Task.Yield();
        if (!Directory.Exists(Root)) yield break;
        var keys = Directory.EnumerateFiles(Root, "*", SearchOption.AllDirectories)
            .Where(p => !p.EndsWith(".tmp", StringComparison.Ordinal))
            .Select(p => Path.GetRelativePath(Root, p).Replace(Path.DirectorySeparatorChar, '/'))
            .Where(k => k.StartsWith(prefix, StringComparison.Ordinal))
            .Order(StringComparer.Ordinal);
        foreach (var key in keys)
        {
            cancellation.ThrowIfCancellationRequested();
            yield return key;
        }
    }

    public string GetUrl(string key, TimeSpan validFor) => new Uri(PathOf(key)).AbsoluteUri;

    private string PathOf(string key)
    {
        if (key.Length == 0 || key.Contains("..", StringComparison.Ordinal) || key.StartsWith('/'))
            throw new ArgumentException($"bad object key '{key}'", nameof(key));
        return Path.Combine(Root, key.Replace('/', Path.DirectorySeparatorChar));
    }
}

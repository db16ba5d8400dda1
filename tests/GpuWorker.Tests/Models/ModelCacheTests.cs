using Farm.GpuWorker.Models;
using Farm.GpuWorker.Tests.Support;
using Farm.Infrastructure.Storage;
using Xunit;

namespace Farm.GpuWorker.Tests.Models;

/// <summary>The local cache of bucket models: laid out for <see cref="ModelLibrary"/>, reused, and evicted least recently used first.</summary>
public sealed class ModelCacheTests : IDisposable
{
    private readonly string bucketDir = Directory.CreateTempSubdirectory("farm-bucket-").FullName;
    private readonly string cacheDir = Directory.CreateTempSubdirectory("farm-cache-").FullName;

    public void Dispose()
    {
        Directory.Delete(bucketDir, recursive: true);
        Directory.Delete(cacheDir, recursive: true);
    }

    [Fact]
    public async Task Models_are_scanned_from_the_cache_and_the_least_recently_used_goes_when_it_is_full()
    {
        using var tiny = await TinyModels.CreateAsync("tiny");
        var bucket = new FolderObjectStore(bucketDir);
        var a = await ModelPusher.PushAsync(bucket, tiny.ModelDir, "a", null, null, CancellationToken.None);
        var b = await ModelPusher.PushAsync(bucket, tiny.ModelDir, "b", null, null, CancellationToken.None);
        Assert.Equal(["a", "b"], (await ModelCache.ListAsync(bucket, CancellationToken.None)).Select(m => m.Name));

        // Room for one and a half models: the second download pushes the first out.
        var cache = new ModelCache(bucket, cacheDir, a.Bytes * 3 / 2);
        await cache.EnsureAsync(a, CancellationToken.None);
        Assert.Equal(["a"], ModelLibrary.Scan(cacheDir).Names);
        var modelIndex = Path.Combine(cacheDir, "a", "model_index.json");
        var written = File.GetLastWriteTimeUtc(modelIndex);
        await cache.EnsureAsync(a, CancellationToken.None);
        Assert.Equal(written, File.GetLastWriteTimeUtc(modelIndex)); // present and verified: not downloaded again

        await cache.EnsureAsync(b, CancellationToken.None);
        Assert.Equal(["b"], ModelLibrary.Scan(cacheDir).Names);
        Assert.False(Directory.Exists(Path.Combine(cacheDir, ".partial", "b")));
    }

    [Fact]
    public async Task A_manifest_naming_a_file_outside_its_model_is_left_out_saying_why()
    {
        var bucket = new FolderObjectStore(bucketDir);
        await bucket.PutAsync("models/evil/manifest.json",
            """{"name":"evil","family":"sd1","weightsSha256":"00","files":[{"path":"../../etc/passwd","size":1,"sha256":"00"}],"pushedAt":"2026-12-03T00:00:00Z"}"""u8.ToArray(), "application/json");
        var skipped = new List<string>();
        Assert.Empty(await ModelCache.ListAsync(bucket, CancellationToken.None, skipped.Add));
        Assert.Contains("models/evil/manifest.json", Assert.Single(skipped));
        Assert.Contains("outside the model", skipped[0]);
    }
}

using System.Text;
using System.Text.Json;
using Farm.GpuWorker.Rendering;
using Farm.Infrastructure.Progress;
using Farm.Infrastructure.Storage;
using Farm.Shared.Contracts;
using Farm.Shared.Layout;

namespace Farm.GpuWorker.Results;

/// <summary>A job's images in the render cache: the tenant whose index is read and written, and each image's content identity.</summary>
internal sealed record CacheKeys(string Tenant, IReadOnlyList<string> Identities);

/// <summary>Where the image of an identity was first stored: <c>cache/&lt;tenant&gt;/&lt;identity&gt;.json</c>.</summary>
internal sealed record CacheEntry(string Image, string Record);

/// <summary>
/// The render cache, in the bucket. A rendered image is indexed by its <see cref="ImageIdentity"/> under its sweep's
/// tenant; a later job whose images all have an entry is served by copying those PNGs inside the bucket (an S3
/// server-side copy: byte-identical, their metadata names no sweep) and writing records for the new sweep and index.
/// The worker does it before taking a pipeline, and counts the images only once their records are stored, as a render.
/// </summary>
internal sealed class RenderCache(IObjectStore bucket, IRendererFactory renderers, IProgressStore store)
{
    /// <summary>The job's cache keys; null when the job opts out (<c>cache: false</c>), its sweep is gone, or its inputs cannot be identified.</summary>
    public async Task<CacheKeys?> KeysForAsync(RenderJob job, CancellationToken cancellation)
    {
        if (!job.Cache) return null;
        if (await store.GetSweepAsync(job.SweepId) is not { } sweep) return null;
        if (await renderers.InputsIdentityAsync(job, cancellation) is not { } inputs) return null;
        return new CacheKeys(sweep.Tenant, job.Seeds.Select(seed => ImageIdentity.For(inputs, job, seed)).ToList());
    }

    /// <summary>
    /// Copies every image of the job from the cache and writes its records; false, with no record written, when any
    /// image is not cached (then the whole job renders: one batch costs about what its missing images would).
    /// </summary>
    public async Task<bool> TryServeAsync(RenderJob job, CacheKeys keys, CancellationToken cancellation)
    {
        var sources = new List<(CacheEntry Entry, ImageRecord Record)>(keys.Identities.Count);
        foreach (var identity in keys.Identities)
        {
            if (await ReadAsync<CacheEntry>(StorageKeys.CacheEntry(keys.Tenant, identity), cancellation) is not { } entry) return false;
            if (await ReadAsync<ImageRecord>(entry.Record, cancellation) is not { } record) return false;
            sources.Add((entry, record));
        }
        var copies = new List<ImageRecord>(sources.Count);
        for (var i = 0; i < sources.Count; i++)
        {
            var (entry, source) = sources[i];
            var record = ResultWriter.Record(job, i, source.ModelHash, source.EngineVersion, source.Width, source.Height, source.Worker, source.RenderSeconds)
                with { Identity = keys.Identities[i], CachedFrom = entry.Image, Infotext = source.Infotext };
            if (!await bucket.CopyAsync(entry.Image, record.Key, cancellation)) return false;
            copies.Add(record);
        }
        var writer = new ResultWriter(bucket);
        foreach (var record in copies) await writer.PutRecordAsync(record, cancellation);
        return true;
    }

    /// <summary>Indexes the job's stored images (after their records, so an entry always points at a complete image).</summary>
    public async Task IndexAsync(RenderJob job, CacheKeys keys, CancellationToken cancellation)
    {
        for (var i = 0; i < keys.Identities.Count; i++)
        {
            var index = job.FirstImageIndex + i;
            var entry = new CacheEntry(StorageKeys.Image(job.SweepId, index), StorageKeys.ImageRecord(job.SweepId, index));
            await bucket.PutAsync(StorageKeys.CacheEntry(keys.Tenant, keys.Identities[i]), Encoding.UTF8.GetBytes(FarmJson.Serialize(entry)), "application/json", cancellation);
        }
    }

    // An entry or record that does not parse is a miss, never a failed job: the image is rendered again and re-indexed.
    private async Task<T?> ReadAsync<T>(string key, CancellationToken cancellation) where T : class
    {
        if (await bucket.GetAsync(key, cancellation) is not { } bytes) return null;
        try
        {
            return JsonSerializer.Deserialize<T>(bytes, FarmJson.Options);
        }
        catch (JsonException)
        {
            return null;
        }
    }
}

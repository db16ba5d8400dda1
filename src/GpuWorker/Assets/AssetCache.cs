using System.Security.Cryptography;
using Farm.Diffusion.Imaging;
using Farm.GpuWorker.Rendering;
using Farm.Infrastructure.Imaging;
using Farm.Infrastructure.Storage;
using Farm.Shared.Contracts;
using Farm.Shared.Layout;

namespace Farm.GpuWorker.Assets;

/// <summary>
/// The worker's decoded init images and masks by asset id: fetched from the bucket once, checked against their
/// SHA-256 (the id), decoded by SkiaSharp, and kept while there is room, since the jobs of one sweep share them.
/// </summary>
public sealed class AssetCache(IObjectStore bucket, WorkerOptions options)
{
    private readonly Dictionary<string, Lazy<Task<RgbImage>>> images = new(StringComparer.Ordinal);
    private readonly LinkedList<string> recent = new();

    public async Task<JobImages> ForJobAsync(RenderJob job, CancellationToken cancellation)
    {
        if (job.InitAsset is null) return JobImages.None;
        var init = await GetAsync(job.InitAsset, cancellation);
        var mask = job.MaskAsset is null ? null : await GetAsync(job.MaskAsset, cancellation);
        return new JobImages(init, mask);
    }

    private Task<RgbImage> GetAsync(string id, CancellationToken cancellation)
    {
        Lazy<Task<RgbImage>> entry;
        lock (images)
        {
            if (!images.TryGetValue(id, out entry!))
            {
                // Not bound to this job's token: a second job waiting on the same download must not see the first one's cancellation.
                images[id] = entry = new Lazy<Task<RgbImage>>(() => LoadAsync(id));
                if (images.Count > options.CachedAssets && recent.First is { } oldest)
                {
                    images.Remove(oldest.Value);
                    recent.RemoveFirst();
                }
            }
            else recent.Remove(id);
            recent.AddLast(id);
        }
        var task = entry.Value;
        // A failed load is forgotten, so a later job tries the bucket again.
        _ = task.ContinueWith(_ => Forget(id, entry), CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
        return task.WaitAsync(cancellation);
    }

    private void Forget(string id, Lazy<Task<RgbImage>> entry)
    {
        lock (images)
            if (images.TryGetValue(id, out var current) && current == entry)
            {
                images.Remove(id);
                recent.Remove(id);
            }
    }

    private async Task<RgbImage> LoadAsync(string id)
    {
        var png = await bucket.GetAsync(StorageKeys.Asset(id))
                  ?? throw new RenderRejectedException($"asset {id} is not in the bucket ({StorageKeys.Asset(id)})");
        if (Convert.ToHexStringLower(SHA256.HashData(png)) != id)
            throw new RenderRejectedException($"asset {id} in the bucket does not match its SHA-256: it was changed or damaged");
        try
        {
            var decoded = UntrustedImage.Decode(png, ImageLimits.Default);
            return new RgbImage(decoded.Width, decoded.Height, 4, decoded.Rgba);
        }
        catch (InvalidImageException e)
        {
            throw new RenderRejectedException($"asset {id} does not decode: {e.Message}", e);
        }
    }
}

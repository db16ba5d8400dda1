using System.Text;
using Farm.Diffusion.Imaging;
using Farm.Diffusion.Pipelines;
using Farm.Infrastructure.Storage;
using Farm.Shared.Contracts;
using Farm.Shared.Layout;
using Farm.Shared.Sweeps;

namespace Farm.GpuWorker.Results;

/// <summary>
/// Puts a job's images into the bucket under deterministic keys: the PNG (with its generation metadata)
/// first, then the per-image JSON record, whose presence marks the image complete.
/// </summary>
internal sealed class ResultWriter(IObjectStore bucket)
{
    public async Task<bool> AllStoredAsync(RenderJob job, CancellationToken cancellation)
    {
        for (var i = 0; i < job.Seeds.Length; i++)
            if (!await bucket.ExistsAsync(StorageKeys.ImageRecord(job.SweepId, job.FirstImageIndex + i), cancellation)) return false;
        return true;
    }

    public async Task StoreAsync(RenderJob job, IReadOnlyList<RenderedImage> images, string worker, double renderSeconds, CancellationToken cancellation)
    {
        for (var i = 0; i < images.Count; i++)
        {
            var image = images[i];
            var index = job.FirstImageIndex + i;
            var key = StorageKeys.Image(job.SweepId, index);
            await bucket.PutAsync(key, PngEncoder.EncodeToBytes(image.Image, image.Metadata.ToPngText()), "image/png", cancellation);
            var m = image.Metadata;
            var record = new ImageRecord(job.SweepId, index,
                ImageIds.For(job.Model, job.Prompt, job.NegativePrompt, image.Seed, job.Steps, job.GuidanceScale, job.Scheduler, job.Width, job.Height,
                    job.ClipSkip, job.Loras, job.Embeddings, job.InitAsset, job.MaskAsset, job.Strength),
                key, job.Model, m.ModelHash ?? "", m.EngineVersion, job.Prompt, job.NegativePrompt, image.Seed, job.Steps, job.GuidanceScale,
                job.Scheduler, image.Image.Width, image.Image.Height, job.JobIndex, worker, renderSeconds, DateTimeOffset.UtcNow,
                job.ClipSkip, job.Loras, job.Embeddings, job.InitAsset, job.MaskAsset, job.Strength, m.ToA1111Parameters());
            await bucket.PutAsync(StorageKeys.ImageRecord(job.SweepId, index), Encoding.UTF8.GetBytes(FarmJson.Serialize(record)), "application/json", cancellation);
        }
    }
}

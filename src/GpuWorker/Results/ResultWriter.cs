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

    /// <param name="identities">Each image's content identity, recorded in its record; null when the job is not cached.</param>
    public async Task StoreAsync(RenderJob job, IReadOnlyList<RenderedImage> images, string worker, double renderSeconds, CancellationToken cancellation,
        IReadOnlyList<string>? identities = null)
    {
        for (var i = 0; i < images.Count; i++)
        {
            var image = images[i];
            var index = job.FirstImageIndex + i;
            var key = StorageKeys.Image(job.SweepId, index);
            await bucket.PutAsync(key, PngEncoder.EncodeToBytes(image.Image, image.Metadata.ToPngText()), "image/png", cancellation);
            var m = image.Metadata;
            var record = Record(job, i, m.ModelHash ?? "", m.EngineVersion, image.Image.Width, image.Image.Height, worker, renderSeconds) with { Identity = identities?[i], Infotext = m.ToA1111Parameters() };
            await PutRecordAsync(record, cancellation);
        }
    }

    /// <summary>The record of image <paramref name="i"/> of the job, with what only its render knows given.</summary>
    public static ImageRecord Record(RenderJob job, int i, string modelHash, string engineVersion, int width, int height, string worker, double renderSeconds)
    {
        var index = job.FirstImageIndex + i;
        var seed = job.Seeds[i];
        return new ImageRecord(job.SweepId, index,
            ImageIds.For(job.Model, job.Prompt, job.NegativePrompt, seed, job.Steps, job.GuidanceScale, job.Scheduler, job.Width, job.Height,
                job.ClipSkip, job.Loras, job.Embeddings, job.InitAsset, job.MaskAsset, job.Strength),
            StorageKeys.Image(job.SweepId, index), job.Model, modelHash, engineVersion, job.Prompt, job.NegativePrompt, seed, job.Steps, job.GuidanceScale,
            job.Scheduler, width, height, job.JobIndex, worker, renderSeconds, DateTimeOffset.UtcNow,
            job.ClipSkip, job.Loras, job.Embeddings, job.InitAsset, job.MaskAsset, job.Strength);
    }

    /// <summary>Writes the record, which marks its image complete: the PNG must be stored already.</summary>
    public Task PutRecordAsync(ImageRecord record, CancellationToken cancellation) =>
        bucket.PutAsync(StorageKeys.ImageRecord(record.SweepId, record.Index), Encoding.UTF8.GetBytes(FarmJson.Serialize(record)), "application/json", cancellation);
}

using System.Globalization;
using System.Text;
using Farm.Infrastructure.Progress;
using Farm.Infrastructure.Storage;
using Farm.Shared.Layout;
using Farm.Shared.Sweeps;

namespace Farm.Coordinator.Sweeps;

/// <summary>What <see cref="SweepRebuilder.RebuildAsync"/> wrote back: images found in the bucket, and where publishing resumes.</summary>
internal sealed record SweepRebuilt(string Id, string Tenant, long Images, long Stored, long Jobs, long ResumeAtJob);

/// <summary>
/// Brings a sweep's live view back from the bucket, the ledger: the manifest gives the plan, creation time and tenant;
/// an image counts as completed when its record (<c>images/&lt;index&gt;.json</c>, written last) is listed. Publishing
/// resumes at the first job, in publish order, with an image not stored: every job from there is published again, and
/// those whose images are all stored complete without rendering (the worker checks the bucket), counted once by the bitmap.
/// Failed images have no record, so they are queued again; a cancel or pause is not in the bucket and is lost.
/// </summary>
internal sealed class SweepRebuilder(IProgressStore store, IObjectStore bucket)
{
    /// <returns>Null when the bucket has no manifest for <paramref name="id"/>.</returns>
    public async Task<SweepRebuilt?> RebuildAsync(string id, TimeSpan? finishedTtl, string? tenant, CancellationToken cancellation)
    {
        if (await bucket.GetAsync(StorageKeys.Manifest(id), cancellation) is not { } manifest) return null;
        var json = Encoding.UTF8.GetString(manifest);
        var plan = SweepManifest.Read(json);
        var header = SweepManifest.ReadHeader(json);
        var owner = tenant ?? header.Tenant ?? SweepSnapshot.NoTenant;

        var stored = new bool[plan.ImageCount];
        var completed = new List<long>();
        await foreach (var key in bucket.ListAsync(StorageKeys.ImagesPrefix(id), cancellation))
            if (RecordIndex(id, key) is { } index && index < plan.ImageCount && !stored[index])
            {
                stored[index] = true;
                completed.Add(index);
            }

        var (resumeAt, publishedImages) = Cursor(id, plan, stored);
        var finishedAt = completed.Count == plan.ImageCount ? DateTimeOffset.UtcNow : (DateTimeOffset?)null;
        await store.RestoreSweepAsync(new RestoredSweep(id, string.Join(", ", plan.Spec.ModelAxis), plan.ImageCount, plan.JobCount, plan.BatchSize,
            header.CreatedAt, owner, plan.Spec.Priority, completed, resumeAt, publishedImages, finishedAt, finishedTtl));
        return new SweepRebuilt(id, owner, plan.ImageCount, completed.Count, plan.JobCount, resumeAt);
    }

    /// <summary>The first publish position whose job lacks an image, and the images of the (complete) jobs before it.</summary>
    private static (long Position, long Images) Cursor(string id, SweepPlan plan, bool[] stored)
    {
        var incomplete = new bool[plan.JobCount];
        for (long i = 0; i < stored.LongLength; i++)
            if (!stored[i]) incomplete[plan.JobIndexOf(i)] = true;
        long images = 0;
        for (long position = 0; position < plan.JobCount; position++)
        {
            var job = plan.JobAtPublishPosition(position);
            if (incomplete[job]) return (position, images);
            images += plan.Job(id, job).Seeds.Length;
        }
        return (plan.JobCount, images);
    }

    // sweeps/<id>/images/00000042.json → 42; PNGs and anything else are not records.
    private static long? RecordIndex(string id, string key)
    {
        var name = key[StorageKeys.ImagesPrefix(id).Length..];
        return name.EndsWith(".json", StringComparison.Ordinal)
               && long.TryParse(name[..^".json".Length], NumberStyles.None, CultureInfo.InvariantCulture, out var index)
            ? index
            : null;
    }
}

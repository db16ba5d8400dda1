using Farm.Cli.Bench;
using Farm.Shared.Layout;

namespace Farm.Cli.Chaos;

/// <summary>
/// What the bucket itself holds for a sweep of <c>Images</c> images, whatever Redis says: the indices missing their PNG
/// or record (lost), the keys beyond one PNG and one record per index under <c>images/</c> (duplicated), and anything
/// else under the sweep's prefix that is not its manifest, contact sheet or a grid (unexpected).
/// </summary>
internal sealed record BucketCheck(long Images, long Lost, long Duplicated, IReadOnlyList<string> Unexpected)
{
    public bool Exact => Lost == 0 && Duplicated == 0 && Unexpected.Count == 0;

    public static async Task<BucketCheck> ReadAsync(BenchResources resources, string sweepId, long images, CancellationToken cancellation)
    {
        var keys = (await resources.ListAsync(StorageKeys.SweepPrefix(sweepId), cancellation)).Select(k => k.Key).ToHashSet(StringComparer.Ordinal);
        long lost = 0;
        var expected = new HashSet<string>(StringComparer.Ordinal);
        for (long index = 0; index < images; index++)
        {
            string png = StorageKeys.Image(sweepId, index), record = StorageKeys.ImageRecord(sweepId, index);
            expected.Add(png);
            expected.Add(record);
            if (!keys.Contains(png) || !keys.Contains(record)) lost++;
        }
        var imagesPrefix = StorageKeys.ImagesPrefix(sweepId);
        var extra = keys.Where(k => !expected.Contains(k)).ToList();
        var duplicated = extra.Count(k => k.StartsWith(imagesPrefix, StringComparison.Ordinal));
        var unexpected = extra.Where(k => !k.StartsWith(imagesPrefix, StringComparison.Ordinal)
                                          && k != StorageKeys.Manifest(sweepId) && k != StorageKeys.ContactSheet(sweepId)
                                          && !k.StartsWith(StorageKeys.GridsPrefix(sweepId), StringComparison.Ordinal)).ToList();
        return new BucketCheck(images, lost, duplicated, unexpected);
    }
}

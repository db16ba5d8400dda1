using System.Collections.Concurrent;
using System.Security.Cryptography;
using Farm.Infrastructure.Imaging;
using Farm.Infrastructure.Storage;
using Farm.Shared.Layout;
using Farm.Shared.Sweeps;
using Microsoft.Extensions.Options;

namespace Farm.Coordinator.Assets;

/// <summary>An accepted image: its id (the SHA-256 of the stored PNG), size, stored bytes and the format it arrived in.</summary>
public sealed record AssetInfo(string Id, int Width, int Height, long Bytes, string Format);

/// <summary>
/// Uploaded images in the bucket, content-addressed as <c>assets/&lt;sha256&gt;.png</c>: decoded (untrusted input),
/// re-encoded to PNG, stored once however often they are uploaded. Sizes are remembered, as an asset never changes.
/// </summary>
internal sealed class AssetStore(IObjectStore bucket, IOptions<AssetOptions> options)
{
    private const int RememberedSizes = 100_000;

    private readonly ConcurrentDictionary<string, ImageSize> sizes = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim decodes = new(options.Value.MaxConcurrentDecodes);

    /// <summary>Stores the image; throws <see cref="InvalidImageException"/> with the reason when it is refused.</summary>
    public async Task<AssetInfo> AddAsync(byte[] upload, CancellationToken cancellation)
    {
        byte[] png;
        ImageHeader header;
        await decodes.WaitAsync(cancellation);
        try
        {
            var decoded = UntrustedImage.Decode(upload, options.Value.Limits);
            header = decoded.Header;
            png = UntrustedImage.EncodePng(decoded);
        }
        finally
        {
            decodes.Release();
        }
        var id = Convert.ToHexStringLower(SHA256.HashData(png));
        var key = StorageKeys.Asset(id);
        if (!await bucket.ExistsAsync(key, cancellation)) await bucket.PutAsync(key, png, "image/png", cancellation);
        Remember(id, new ImageSize(header.Width, header.Height));
        return new AssetInfo(id, header.Width, header.Height, png.Length, header.Format);
    }

    /// <summary>The asset's size, or null when the bucket has no such asset.</summary>
    public async Task<ImageSize?> SizeAsync(string id, CancellationToken cancellation)
    {
        if (sizes.TryGetValue(id, out var known)) return known;
        if (!AssetIds.IsValid(id) || await bucket.GetAsync(StorageKeys.Asset(id), cancellation) is not { } png) return null;
        try
        {
            var header = UntrustedImage.ReadHeader(png, options.Value.Limits);
            return Remember(id, new ImageSize(header.Width, header.Height));
        }
        catch (InvalidImageException)
        {
            return null;
        }
    }

    /// <summary>The sizes of the assets a spec names, as the validator's lookup (null for one that does not exist).</summary>
    public async Task<Func<string, ImageSize?>> SizesOfAsync(SweepSpec? spec, CancellationToken cancellation)
    {
        var found = new Dictionary<string, ImageSize>(StringComparer.Ordinal);
        foreach (var id in new[] { spec?.Init, spec?.Mask })
            if (id is not null && await SizeAsync(id, cancellation) is { } size) found[id] = size;
        return id => found.TryGetValue(id, out var size) ? size : null;
    }

    private ImageSize Remember(string id, ImageSize size)
    {
        if (sizes.Count >= RememberedSizes) sizes.Clear();
        return sizes[id] = size;
    }
}

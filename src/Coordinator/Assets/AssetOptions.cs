using Farm.Infrastructure.Imaging;

namespace Farm.Coordinator.Assets;

/// <summary>What <c>POST /v1/assets</c> accepts (section <c>Assets</c>).</summary>
public sealed class AssetOptions
{
    public const string Section = "Assets";

    /// <summary>The largest upload in bytes; a longer body is refused with 413 from its Content-Length or as it streams in.</summary>
    public long MaxBytes { get; set; } = 20 * 1024 * 1024;
    /// <summary>The most pixels an image's header may declare (4096 × 4096: 64 MiB once decoded to RGBA).</summary>
    public long MaxPixels { get; set; } = 4096L * 4096;
    /// <summary>The longest side an image's header may declare.</summary>
    public int MaxSide { get; set; } = 8192;
    /// <summary>Uploads decoded at once; the others wait, so memory stays bounded by this × the decoded size of MaxPixels.</summary>
    public int MaxConcurrentDecodes { get; set; } = 2;

    public ImageLimits Limits => new(MaxPixels, MaxSide);

    public IEnumerable<string> Validate()
    {
        if (MaxBytes < 1) yield return "Assets:MaxBytes must be ≥ 1";
        if (MaxPixels < 64) yield return "Assets:MaxPixels must be ≥ 64";
        if (MaxSide < 8) yield return "Assets:MaxSide must be ≥ 8";
        if (MaxConcurrentDecodes < 1) yield return "Assets:MaxConcurrentDecodes must be ≥ 1";
    }
}

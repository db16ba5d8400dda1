using SkiaSharp;

namespace Farm.Infrastructure.Imaging;

/// <summary>
/// Turns decoded pixels upright by their EXIF orientation (a phone's portrait photo is stored sideways), as diffusers'
/// <c>load_image</c> does with PIL's <c>exif_transpose</c>; SkiaSharp's codec reports the origin but leaves pixels as stored.
/// </summary>
internal static class ExifOrientation
{
    public static bool SwapsSides(SKEncodedOrigin origin) =>
        origin is SKEncodedOrigin.LeftTop or SKEncodedOrigin.RightTop or SKEncodedOrigin.RightBottom or SKEncodedOrigin.LeftBottom;

    /// <summary>RGBA pixels of a <paramref name="width"/> × <paramref name="height"/> stored image, upright (sides swapped when rotated by 90°).</summary>
    public static byte[] Upright(byte[] rgba, int width, int height, SKEncodedOrigin origin)
    {
        if (origin is SKEncodedOrigin.TopLeft) return rgba;
        var (outWidth, outHeight) = SwapsSides(origin) ? (height, width) : (width, height);
        var source = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, uint>(rgba);
        var result = new byte[rgba.Length];
        var target = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, uint>(result.AsSpan());
        for (var y = 0; y < outHeight; y++)
            for (var x = 0; x < outWidth; x++)
            {
                // The stored pixel shown at (x, y), for each of EXIF's eight orientations.
                var (sx, sy) = origin switch
                {
                    SKEncodedOrigin.TopRight => (width - 1 - x, y),
                    SKEncodedOrigin.BottomRight => (width - 1 - x, height - 1 - y),
                    SKEncodedOrigin.BottomLeft => (x, height - 1 - y),
                    SKEncodedOrigin.LeftTop => (y, x),
                    SKEncodedOrigin.RightTop => (y, height - 1 - x),
                    SKEncodedOrigin.RightBottom => (width - 1 - y, height - 1 - x),
                    SKEncodedOrigin.LeftBottom => (width - 1 - y, x),
                    _ => (x, y),
                };
                target[y * outWidth + x] = source[sy * width + sx];
            }
        return result;
    }
}

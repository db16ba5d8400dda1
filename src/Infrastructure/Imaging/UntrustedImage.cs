using System.Runtime.InteropServices;
using SkiaSharp;

namespace Farm.Infrastructure.Imaging;

/// <summary>How large an image may be decoded: checked against the header before any pixel memory is allocated.</summary>
public sealed record ImageLimits(long MaxPixels, int MaxSide)
{
    public static readonly ImageLimits Default = new(4096L * 4096, 8192);
}

/// <summary>An image's header: what it claims to be, read without decoding a pixel.</summary>
public sealed record ImageHeader(string Format, int Width, int Height);

/// <summary>Decoded pixels, row-major RGBA, 8 bits per channel, not premultiplied.</summary>
public sealed record DecodedImage(ImageHeader Header, byte[] Rgba)
{
    public int Width => Header.Width;
    public int Height => Header.Height;
}

/// <summary>An input that is not a PNG, JPEG or WebP image we accept; the message says why, for the caller.</summary>
public sealed class InvalidImageException(string message) : Exception(message);

/// <summary>
/// Decodes images from outside (uploads, and the bucket's copies of them) with SkiaSharp: the header first, refused
/// when the format is not PNG, JPEG or WebP or the declared size passes the limits, then the pixels, refused when the
/// data ends early or is corrupt. Never returns a partly decoded image. Pixels come upright (EXIF orientation
/// applied), and the header's size is the upright one.
/// </summary>
public static class UntrustedImage
{
    private static readonly Dictionary<SKEncodedImageFormat, string> Accepted = new()
    {
        [SKEncodedImageFormat.Png] = "png",
        [SKEncodedImageFormat.Jpeg] = "jpeg",
        [SKEncodedImageFormat.Webp] = "webp",
    };

    public static ImageHeader ReadHeader(byte[] bytes, ImageLimits limits)
    {
        using var codec = Open(bytes);
        return Header(codec, limits);
    }

    public static DecodedImage Decode(byte[] bytes, ImageLimits limits)
    {
        using var codec = Open(bytes);
        var header = Header(codec, limits);
        var info = new SKImageInfo(codec.Info.Width, codec.Info.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        var pixels = new byte[info.BytesSize64];
        var handle = GCHandle.Alloc(pixels, GCHandleType.Pinned);
        try
        {
            var result = codec.GetPixels(info, handle.AddrOfPinnedObject());
            if (result != SKCodecResult.Success) throw new InvalidImageException($"the {header.Format} data is {Reason(result)}");
        }
        finally
        {
            handle.Free();
        }
        return new DecodedImage(header, ExifOrientation.Upright(pixels, info.Width, info.Height, codec.EncodedOrigin));
    }

    /// <summary>The pixels as a PNG (SkiaSharp's encoder; the same pixels give the same bytes).</summary>
    public static byte[] EncodePng(DecodedImage image)
    {
        var info = new SKImageInfo(image.Width, image.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        var handle = GCHandle.Alloc(image.Rgba, GCHandleType.Pinned);
        try
        {
            using var pixmap = new SKPixmap(info, handle.AddrOfPinnedObject());
            using var data = pixmap.Encode(SKEncodedImageFormat.Png, 100)
                             ?? throw new InvalidOperationException("SkiaSharp could not encode the PNG");
            return data.ToArray();
        }
        finally
        {
            handle.Free();
        }
    }

    private static SKCodec Open(byte[] bytes)
    {
        if (bytes.Length == 0) throw new InvalidImageException("the body is empty: send the image's bytes");
        // The stream holds its own copy of the bytes, and the codec owns (and disposes) the stream.
        var codec = SKCodec.Create(new SKMemoryStream(bytes), out var result);
        if (codec is null)
            throw new InvalidImageException(result is SKCodecResult.IncompleteInput && StartsLikeAnImage(bytes)
                ? "the image ends before its header does (truncated)"
                : "not a PNG, JPEG or WebP image (no decoder recognises its first bytes)");
        return codec;
    }

    // Only to word the refusal: Skia answers IncompleteInput for any input too short to sniff, image or not.
    private static bool StartsLikeAnImage(byte[] bytes) =>
        bytes.AsSpan().StartsWith((byte[])[0x89, (byte)'P', (byte)'N', (byte)'G']) || bytes.AsSpan().StartsWith((byte[])[0xFF, 0xD8, 0xFF])
        || bytes.AsSpan().StartsWith("RIFF"u8);

    private static ImageHeader Header(SKCodec codec, ImageLimits limits)
    {
        if (!Accepted.TryGetValue(codec.EncodedFormat, out var format))
        {
            var found = codec.EncodedFormat.ToString().ToUpperInvariant();
            throw new InvalidImageException($"a {found} image; only PNG, JPEG and WebP are accepted");
        }
        var (width, height) = (codec.Info.Width, codec.Info.Height);
        if (width <= 0 || height <= 0) throw new InvalidImageException($"the {format} header declares an empty image ({width}x{height})");
        if (width > limits.MaxSide || height > limits.MaxSide || (long)width * height > limits.MaxPixels)
            throw new InvalidImageException($"the {format} header declares {width}x{height}; at most {limits.MaxSide} pixels a side and "
                                            + $"{limits.MaxPixels} pixels in all are accepted");
        return ExifOrientation.SwapsSides(codec.EncodedOrigin) ? new ImageHeader(format, height, width) : new ImageHeader(format, width, height);
    }

    private static string Reason(SKCodecResult result) => result switch
    {
        SKCodecResult.IncompleteInput => "truncated: it ends before the last row",
        SKCodecResult.ErrorInInput => "corrupt: the decoder found an error in it",
        SKCodecResult.InvalidInput => "invalid",
        _ => $"not decodable ({result})",
    };
}

using System.Buffers.Binary;
using System.IO.Hashing;
using SkiaSharp;

namespace Farm.Testing;

/// <summary>Images for upload tests, drawn and encoded by SkiaSharp, and PNGs crafted byte by byte to be refused.</summary>
public static class TestImages
{
    /// <summary>A gradient (no two neighbouring pixels alike) encoded as PNG, JPEG or WebP.</summary>
    public static byte[] Encode(SKEncodedImageFormat format, int width, int height, int quality = 90)
    {
        using var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        for (var y = 0; y < height; y++)
            for (var x = 0; x < width; x++)
                bitmap.SetPixel(x, y, new SKColor((byte)(x * 255 / Math.Max(1, width - 1)), (byte)(y * 255 / Math.Max(1, height - 1)), (byte)((x + y) % 256)));
        using var image = SKImage.FromBitmap(bitmap);
        using var data = image.Encode(format, quality) ?? throw new InvalidOperationException($"SkiaSharp cannot encode {format}");
        return data.ToArray();
    }

    public static byte[] Png(int width, int height) => Encode(SKEncodedImageFormat.Png, width, height);

    /// <summary>A one-colour mask: white (repaint) or black (keep).</summary>
    public static byte[] Mask(int width, int height, bool white)
    {
        using var bitmap = new SKBitmap(width, height);
        bitmap.Erase(white ? SKColors.White : SKColors.Black);
        using var image = SKImage.FromBitmap(bitmap);
        using var data = image.Encode(SKEncodedImageFormat.Png, 100)!;
        return data.ToArray();
    }

    /// <summary>
    /// A well-formed PNG start whose IHDR (with a correct CRC) declares <paramref name="width"/> × <paramref name="height"/>
    /// RGBA, followed by a tiny IDAT and IEND: a decoder that trusted the header would allocate width × height × 4 bytes.
    /// </summary>
    public static byte[] PngDeclaring(int width, int height)
    {
        var ihdr = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(ihdr, width);
        BinaryPrimitives.WriteInt32BigEndian(ihdr.AsSpan(4), height);
        ihdr[8] = 8; // bit depth
        ihdr[9] = 6; // colour type RGBA
        using var png = new MemoryStream();
        png.Write([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]);
        Chunk(png, "IHDR", ihdr);
        Chunk(png, "IDAT", [0x78, 0x9C, 0x63, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01]);
        Chunk(png, "IEND", []);
        return png.ToArray();
    }

    /// <summary>The JPEG with an EXIF APP1 segment right after SOI whose one tag is Orientation (0x0112) = <paramref name="orientation"/>.</summary>
    public static byte[] WithExifOrientation(byte[] jpeg, ushort orientation)
    {
        // Big-endian TIFF: header, IFD0 at offset 8 with one SHORT entry, no next IFD.
        byte[] tiff = [(byte)'M', (byte)'M', 0, 42, 0, 0, 0, 8, 0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, (byte)(orientation >> 8), (byte)orientation, 0, 0, 0, 0, 0, 0];
        byte[] payload = [.. "Exif\0\0"u8, .. tiff];
        var length = payload.Length + 2;
        return [jpeg[0], jpeg[1], 0xFF, 0xE1, (byte)(length >> 8), (byte)length, .. payload, .. jpeg[2..]];
    }

    private static void Chunk(Stream png, string type, byte[] data)
    {
        Span<byte> length = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(length, data.Length);
        png.Write(length);
        var typed = System.Text.Encoding.ASCII.GetBytes(type).Concat(data).ToArray();
        png.Write(typed);
        Span<byte> crc = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(crc, Crc32.HashToUInt32(typed));
        png.Write(crc);
    }
}

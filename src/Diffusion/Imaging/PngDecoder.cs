using System.Buffers.Binary;
using System.IO.Compression;
using Farm.Diffusion.Imaging.Png;

namespace Farm.Diffusion.Imaging;

/// <summary>A decoded PNG: the pixels and the text chunks (keyword → text; a later duplicate wins).</summary>
public sealed record DecodedPng(RgbImage Image, IReadOnlyDictionary<string, string> Text);

/// <summary>
/// Reads non-interlaced PNGs: gray (1/2/4/8-bit), gray+alpha, RGB, RGBA (8-bit) and palette
/// (1/2/4/8-bit, expanded to RGB, or RGBA when tRNS is present). Unknown ancillary chunks are skipped.
/// </summary>
public static class PngDecoder
{
    public static DecodedPng Decode(Stream stream) => PngReaderCore.Read(stream, decodePixels: true);

    public static DecodedPng Decode(byte[] png) => Decode(new MemoryStream(png, writable: false));

    public static DecodedPng Load(string path)
    {
        using var file = File.OpenRead(path);
        return Decode(file);
    }

    /// <summary>Only the text chunks; image data is skipped, not inflated.</summary>
    public static IReadOnlyDictionary<string, string> ReadText(Stream stream) => PngReaderCore.Read(stream, decodePixels: false).Text;
}

internal static class PngReaderCore
{
    private readonly record struct Header(int Width, int Height, int BitDepth, int ColorType, int Interlace)
    {
        public int SamplesPerPixel => ColorType switch { 0 => 1, 2 => 3, 3 => 1, 4 => 2, 6 => 4, _ => 0 };
        public int BitsPerPixel => SamplesPerPixel * BitDepth;
        public int RowBytes => (int)(((long)Width * BitsPerPixel + 7) / 8);
    }

    public static DecodedPng Read(Stream stream, bool decodePixels)
    {
        Span<byte> signature = stackalloc byte[8];
        if (stream.ReadAtLeast(signature, 8, throwOnEndOfStream: false) != 8 || !signature.SequenceEqual(PngChunkWriter.Signature))
            throw new InvalidDataException("not a PNG file (bad signature)");

        Header? header = null;
        byte[]? palette = null;
        byte[]? transparency = null;
        var text = new Dictionary<string, string>(StringComparer.Ordinal);
        using var idat = new MemoryStream();
        Span<byte> head = stackalloc byte[8];
        Span<byte> crcBytes = stackalloc byte[4];

        while (true)
        {
            if (stream.ReadAtLeast(head, 8, throwOnEndOfStream: false) != 8) throw new InvalidDataException("PNG: truncated before IEND");
            var length = BinaryPrimitives.ReadUInt32BigEndian(head);
            var type = (PngChunkType)BinaryPrimitives.ReadUInt32BigEndian(head[4..]);
            if (length > int.MaxValue) throw new InvalidDataException($"PNG: chunk {type.Name()} length {length} is invalid");
            var data = new byte[length];
            if (stream.ReadAtLeast(data, data.Length, throwOnEndOfStream: false) != data.Length
                || stream.ReadAtLeast(crcBytes, 4, throwOnEndOfStream: false) != 4)
            {
                throw new InvalidDataException($"PNG: chunk {type.Name()} is truncated");
            }
            if (BinaryPrimitives.ReadUInt32BigEndian(crcBytes) != Crc32.OfChunk(head[4..], data))
                throw new InvalidDataException($"PNG: CRC mismatch in chunk {type.Name()}");

            if (header is null && type != PngChunkType.Header) throw new InvalidDataException("PNG: first chunk is not IHDR");
            switch (type)
            {
                case PngChunkType.Header:
                    header = ParseHeader(data);
                    break;
                case PngChunkType.Palette:
                    if (data.Length % 3 != 0 || data.Length == 0 || data.Length > 768) throw new InvalidDataException("PNG: invalid PLTE length");
                    palette = data;
                    break;
                case PngChunkType.Transparency:
                    transparency = data;
                    break;
                case PngChunkType.Data:
                    if (decodePixels) idat.Write(data);
                    break;
                case PngChunkType.Text or PngChunkType.CompressedText or PngChunkType.InternationalText:
                    var (keyword, value) = PngTextChunks.Decode(type, data);
                    text[keyword] = value;
                    break;
                case PngChunkType.End:
                    var image = decodePixels ? DecodePixels(header!.Value, idat, palette, transparency) : null;
                    return new DecodedPng(image!, text);
                default:
                    if (type.IsCritical()) throw new NotSupportedException($"PNG: unsupported critical chunk {type.Name()}");
                    break; // ancillary chunks we do not understand (gAMA, pHYs, …) are skipped
            }
        }
    }

    private static Header ParseHeader(byte[] data)
    {
        if (data.Length != 13) throw new InvalidDataException("PNG: IHDR must be 13 bytes");
        var h = new Header(
            (int)Math.Min(BinaryPrimitives.ReadUInt32BigEndian(data), int.MaxValue),
            (int)Math.Min(BinaryPrimitives.ReadUInt32BigEndian(data.AsSpan(4)), int.MaxValue),
            data[8], data[9], data[12]);
        if (h.Width <= 0 || h.Height <= 0 || (long)h.Width * h.Height > 1L << 28)
            throw new InvalidDataException($"PNG: unsupported image size {h.Width}x{h.Height}");
        if (data[10] != 0 || data[11] != 0) throw new InvalidDataException("PNG: unknown compression or filter method");
        if (h.Interlace != 0) throw new NotSupportedException("PNG: Adam7 interlaced images are not supported; re-save without interlacing");
        var validDepth = h.ColorType switch
        {
            0 => h.BitDepth is 1 or 2 or 4 or 8 or 16,
            3 => h.BitDepth is 1 or 2 or 4 or 8,
            2 or 4 or 6 => h.BitDepth is 8 or 16,
            _ => throw new InvalidDataException($"PNG: invalid colour type {h.ColorType}"),
        };
        if (!validDepth) throw new InvalidDataException($"PNG: bit depth {h.BitDepth} is invalid for colour type {h.ColorType}");
        if (h.BitDepth == 16) throw new NotSupportedException("PNG: 16-bit images are not supported; use 8-bit");
        return h;
    }

    private static RgbImage DecodePixels(Header h, MemoryStream idat, byte[]? palette, byte[]? transparency)
    {
        var rowBytes = h.RowBytes;
        var raw = new byte[(long)(rowBytes + 1) * h.Height];
        idat.Position = 0;
        using (var z = new ZLibStream(idat, CompressionMode.Decompress, leaveOpen: true))
        {
            try
            {
                if (z.ReadAtLeast(raw, raw.Length, throwOnEndOfStream: false) != raw.Length)
                    throw new InvalidDataException("PNG: image data is shorter than the header says");
            }
            catch (InvalidDataException e) when (!e.Message.StartsWith("PNG", StringComparison.Ordinal))
            {
                throw new InvalidDataException($"PNG: corrupt image data ({e.Message})", e);
            }
        }

        var bpp = Math.Max(1, h.BitsPerPixel / 8);
        var zeros = new byte[rowBytes];
        for (var y = 0; y < h.Height; y++)
        {
            var row = raw.AsSpan(y * (rowBytes + 1) + 1, rowBytes);
            ReadOnlySpan<byte> previous = y == 0 ? zeros : raw.AsSpan((y - 1) * (rowBytes + 1) + 1, rowBytes);
            PngFilters.Unfilter(raw[y * (rowBytes + 1)], row, previous, bpp);
        }

        return h.ColorType == 3 ? ExpandPalette(h, raw, palette, transparency) : Unpack(h, raw);
    }

    private static RgbImage Unpack(Header h, byte[] raw)
    {
        var channels = h.SamplesPerPixel;
        var image = new RgbImage(h.Width, h.Height, channels);
        var rowBytes = h.RowBytes;
        for (var y = 0; y < h.Height; y++)
        {
            var row = raw.AsSpan(y * (rowBytes + 1) + 1, rowBytes);
            var dst = image.Pixels.AsSpan(y * image.Stride, image.Stride);
            if (h.BitDepth == 8)
            {
                row.CopyTo(dst);
                continue;
            }
            var scale = 255 / ((1 << h.BitDepth) - 1); // 1→255, 2→85, 4→17: exact
            for (var x = 0; x < h.Width; x++) dst[x] = (byte)(Sample(row, x, h.BitDepth) * scale);
        }
        return image;
    }

    private static RgbImage ExpandPalette(Header h, byte[] raw, byte[]? palette, byte[]? transparency)
    {
        if (palette is null) throw new InvalidDataException("PNG: palette image without PLTE");
        var entries = palette.Length / 3;
        var channels = transparency is null ? 3 : 4;
        var image = new RgbImage(h.Width, h.Height, channels);
        var rowBytes = h.RowBytes;
        for (var y = 0; y < h.Height; y++)
        {
            var row = raw.AsSpan(y * (rowBytes + 1) + 1, rowBytes);
            var dst = image.Pixels.AsSpan(y * image.Stride, image.Stride);
            for (var x = 0; x < h.Width; x++)
            {
                var index = Sample(row, x, h.BitDepth);
                if (index >= entries) throw new InvalidDataException($"PNG: palette index {index} out of range ({entries} entries)");
                dst[x * channels] = palette[index * 3];
                dst[x * channels + 1] = palette[index * 3 + 1];
                dst[x * channels + 2] = palette[index * 3 + 2];
                if (channels == 4) dst[x * 4 + 3] = index < transparency!.Length ? transparency[index] : (byte)255;
            }
        }
        return image;
    }

    // Sub-byte samples are packed most significant bits first.
    private static int Sample(ReadOnlySpan<byte> row, int x, int bitDepth)
    {
        if (bitDepth == 8) return row[x];
        var bit = x * bitDepth;
        return (row[bit >> 3] >> (8 - bitDepth - (bit & 7))) & ((1 << bitDepth) - 1);
    }
}

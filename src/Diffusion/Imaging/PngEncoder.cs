using System.Buffers.Binary;
using System.IO.Compression;
using Farm.Diffusion.Imaging.Png;

namespace Farm.Diffusion.Imaging;

/// <summary>Writes 8-bit gray, gray+alpha, RGB or RGBA PNGs (non-interlaced) with optional text chunks.</summary>
public static class PngEncoder
{
    public static void Encode(RgbImage image, Stream stream, IEnumerable<KeyValuePair<string, string>>? text = null)
    {
        // Encode text first so an invalid keyword fails before anything is written.
        var textChunks = (text ?? []).Select(kv => PngTextChunks.Encode(kv.Key, kv.Value)).ToList();

        stream.Write(PngChunkWriter.Signature);
        Span<byte> header = stackalloc byte[13];
        BinaryPrimitives.WriteUInt32BigEndian(header, (uint)image.Width);
        BinaryPrimitives.WriteUInt32BigEndian(header[4..], (uint)image.Height);
        header[8] = 8; // bit depth
        header[9] = image.Channels switch { 1 => 0, 2 => 4, 3 => 2, _ => 6 }; // colour type
        // compression 0 (deflate), filter method 0, interlace 0: already zero.
        PngChunkWriter.Write(stream, PngChunkType.Header, header);

        foreach (var (type, data) in textChunks) PngChunkWriter.Write(stream, type, data);

        PngChunkWriter.Write(stream, PngChunkType.Data, CompressRows(image));
        PngChunkWriter.Write(stream, PngChunkType.End, []);
    }

    public static byte[] EncodeToBytes(RgbImage image, IEnumerable<KeyValuePair<string, string>>? text = null)
    {
        using var ms = new MemoryStream();
        Encode(image, ms, text);
        return ms.ToArray();
    }

    public static void Save(RgbImage image, string path, IEnumerable<KeyValuePair<string, string>>? text = null)
    {
        using var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16);
        Encode(image, file, text);
    }

    private static byte[] CompressRows(RgbImage image)
    {
        var stride = image.Stride;
        var bpp = image.Channels;
        var previous = new byte[stride];
        var scratch = new byte[stride];
        var filtered = new byte[stride];
        using var compressed = new MemoryStream();
        using (var z = new ZLibStream(compressed, CompressionLevel.Optimal, leaveOpen: true))
        {
            for (var y = 0; y < image.Height; y++)
            {
                var row = image.Pixels.AsSpan(y * stride, stride);
                var filter = PngFilters.Choose(row, previous, bpp, scratch, filtered);
                z.WriteByte((byte)filter);
                z.Write(filtered);
                row.CopyTo(previous);
            }
        }
        return compressed.ToArray();
    }
}

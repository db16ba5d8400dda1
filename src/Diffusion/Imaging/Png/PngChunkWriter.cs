using System.Buffers.Binary;

namespace Farm.Diffusion.Imaging.Png;

/// <summary>The one place chunks are written: length, type, data, CRC.</summary>
internal static class PngChunkWriter
{
    public static ReadOnlySpan<byte> Signature => [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];

    public static void Write(Stream stream, PngChunkType type, ReadOnlySpan<byte> data)
    {
        Span<byte> head = stackalloc byte[8];
        BinaryPrimitives.WriteUInt32BigEndian(head, (uint)data.Length);
        BinaryPrimitives.WriteUInt32BigEndian(head[4..], (uint)type);
        stream.Write(head);
        stream.Write(data);
        Span<byte> crc = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(crc, Crc32.OfChunk(head[4..], data));
        stream.Write(crc);
    }
}

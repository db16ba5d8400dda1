using System.IO.Compression;
using System.Text;

namespace Farm.Diffusion.Imaging.Png;

/// <summary>
/// Text chunk encoding: tEXt when keyword and text are Latin-1, iTXt (UTF-8) otherwise; zTXt and
/// compressed iTXt are understood on read.
/// </summary>
internal static class PngTextChunks
{
    private static readonly Encoding latin1 = Encoding.Latin1;

    public static void ValidateKeyword(string keyword)
    {
        // PNG spec: 1-79 printable Latin-1 characters, no leading, trailing or consecutive spaces.
        if (keyword.Length is < 1 or > 79 || keyword[0] == ' ' || keyword[^1] == ' ' || keyword.Contains("  ")
            || keyword.Any(c => c > 0xFF || c < 0x20 || c is >= '\x7F' and <= '\xA0'))
        {
            throw new ArgumentException($"PNG text keyword '{keyword}' must be 1-79 printable Latin-1 characters without leading/trailing spaces");
        }
    }

    public static (PngChunkType Type, byte[] Data) Encode(string keyword, string text)
    {
        ValidateKeyword(keyword);
        var isLatin1 = text.All(c => c <= 0xFF && c != '\0');
        using var ms = new MemoryStream();
        ms.Write(latin1.GetBytes(keyword));
        ms.WriteByte(0);
        if (isLatin1)
        {
            ms.Write(latin1.GetBytes(text));
            return (PngChunkType.Text, ms.ToArray());
        }
        // iTXt: compression flag 0, method 0, empty language tag, empty translated keyword, UTF-8 text.
        ms.Write([0, 0, 0, 0]);
        ms.Write(Encoding.UTF8.GetBytes(text));
        return (PngChunkType.InternationalText, ms.ToArray());
    }

    public static (string Keyword, string Text) Decode(PngChunkType type, ReadOnlySpan<byte> data)
    {
        var nul = data.IndexOf((byte)0);
        if (nul < 1) throw new InvalidDataException($"PNG {type.Name()} chunk has no keyword");
        var keyword = latin1.GetString(data[..nul]);
        var rest = data[(nul + 1)..];
        switch (type)
        {
            case PngChunkType.Text:
                return (keyword, latin1.GetString(rest));
            case PngChunkType.CompressedText:
                if (rest.Length < 1 || rest[0] != 0) throw new InvalidDataException("PNG zTXt: unknown compression method");
                return (keyword, latin1.GetString(Inflate(rest[1..])));
            default:
                if (rest.Length < 2) throw new InvalidDataException("PNG iTXt chunk is truncated");
                var compressed = rest[0] != 0;
                rest = rest[2..];
                var languageEnd = rest.IndexOf((byte)0);
                if (languageEnd < 0) throw new InvalidDataException("PNG iTXt: missing language tag terminator");
                rest = rest[(languageEnd + 1)..];
                var translatedEnd = rest.IndexOf((byte)0);
                if (translatedEnd < 0) throw new InvalidDataException("PNG iTXt: missing translated keyword terminator");
                rest = rest[(translatedEnd + 1)..];
                return (keyword, Encoding.UTF8.GetString(compressed ? Inflate(rest) : rest));
        }
    }

    private static byte[] Inflate(ReadOnlySpan<byte> data)
    {
        using var input = new MemoryStream(data.ToArray());
        using var z = new ZLibStream(input, CompressionMode.Decompress);
        using var output = new MemoryStream();
        z.CopyTo(output);
        return output.ToArray();
    }
}

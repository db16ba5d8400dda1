using System.Diagnostics;
using Farm.Diffusion.Imaging;
using Xunit;

namespace Farm.Diffusion.Tests.Imaging;

public sealed class PngCodecTests
{
    [Theory]
    [InlineData(1, 1, 3)]
    [InlineData(64, 48, 3)]
    [InlineData(17, 5, 4)]
    [InlineData(33, 9, 1)]
    [InlineData(8, 13, 2)]
    public void Random_images_round_trip_exactly(int width, int height, int channels)
    {
        var rng = new Random(width * 1000 + height * 10 + channels);
        var pixels = new byte[width * height * channels];
        rng.NextBytes(pixels);
        // Add smooth regions too so every filter type gets chosen somewhere.
        for (var i = 0; i < pixels.Length / 2; i++) pixels[i] = (byte)(i / 7);
        var image = new RgbImage(width, height, channels, pixels);

        var decoded = PngDecoder.Decode(PngEncoder.EncodeToBytes(image)).Image;

        Assert.Equal((width, height, channels), (decoded.Width, decoded.Height, decoded.Channels));
        Assert.Equal(pixels, decoded.Pixels);
    }

    [Fact]
    public void Text_chunks_round_trip_including_non_latin1_text()
    {
        var text = new Dictionary<string, string>
        {
            ["Comment"] = "café, naïve — plain Latin-1? no: the dash is not",
            ["latin"] = "café crème\nsecond line",
            ["prompt"] = "日本の桜と富士山 🎉",
        };
        var png = PngEncoder.EncodeToBytes(new RgbImage(2, 2, 3), text);

        var decoded = PngDecoder.Decode(png);
        Assert.Equal(text, decoded.Text);
        Assert.Equal(text, PngDecoder.ReadText(new MemoryStream(png)));
        // "latin" must be a tEXt chunk, "prompt" an iTXt chunk.
        var ascii = System.Text.Encoding.Latin1.GetString(png);
        Assert.Contains("tEXtlatin\0", ascii);
        Assert.Contains("iTXtprompt\0", ascii);
    }

    [Fact]
    public void Invalid_keywords_are_rejected_before_writing()
    {
        Assert.Throws<ArgumentException>(() => PngEncoder.EncodeToBytes(new RgbImage(1, 1, 3), [new(" bad", "x")]));
        Assert.Throws<ArgumentException>(() => PngEncoder.EncodeToBytes(new RgbImage(1, 1, 3), [new("日本", "x")]));
    }

    [Fact]
    public void Corrupt_and_unsupported_files_fail_clearly()
    {
        var png = PngEncoder.EncodeToBytes(new RgbImage(4, 4, 3));
        Assert.Contains("signature", Assert.Throws<InvalidDataException>(() => PngDecoder.Decode(new byte[] { 1, 2, 3 })).Message);

        var flipped = (byte[])png.Clone();
        flipped[20] ^= 0xFF; // inside IHDR data
        Assert.Contains("CRC", Assert.Throws<InvalidDataException>(() => PngDecoder.Decode(flipped)).Message);

        Assert.Throws<InvalidDataException>(() => PngDecoder.Decode(png[..^20]));

        var interlaced = Handmade(width: 1, height: 1, bitDepth: 8, colorType: 2, interlace: 1, rows: [[0, 1, 2, 3]]);
        Assert.Contains("interlaced", Assert.Throws<NotSupportedException>(() => PngDecoder.Decode(interlaced)).Message);
    }

    [Fact]
    public void Palette_and_low_bit_depth_gray_images_expand_to_8_bit()
    {
        // 1-bit palette 3x1: indices 1,0,1, with tRNS making entry 0 transparent.
        var palette = Handmade(3, 1, 1, 3, 0, [[0, 0b1010_0000]],
            ("PLTE", [10, 20, 30, 200, 210, 220]), ("tRNS", [0]));
        var image = PngDecoder.Decode(palette).Image;
        Assert.Equal(4, image.Channels);
        Assert.Equal(new byte[] { 200, 210, 220, 255, 10, 20, 30, 0, 200, 210, 220, 255 }, image.Pixels);

        // 2-bit gray 4x1 with Sub filter: raw 0,1,2,3 → filtered 0,1,1,1.
        var gray = Handmade(4, 1, 2, 0, 0, [[1, 0b00_01_10_11]]);
        Assert.Equal(new byte[] { 0, 85, 170, 255 }, PngDecoder.Decode(gray).Image.Pixels);

        // 8-bit RGB, 2 rows using Up, Average and Paeth filters.
        var rgb = Handmade(2, 2, 8, 2, 0, [[3, 10, 20, 30, 5, 5, 5], [4, 1, 1, 1, 2, 2, 2]]);
        // Row 0 Average: a=0 → (10,20,30); then 5+((10+0)>>1)=10, 5+10=15, 5+15=20.
        // Row 1 Paeth: x0 → b (above) so 11,21,31; x1: a=(11,21,31) b=(10,15,20) c=(10,20,30) → p=a+b-c…
        var decoded = PngDecoder.Decode(rgb).Image.Pixels;
        Assert.Equal(new byte[] { 10, 20, 30, 10, 15, 20, 11, 21, 31 }, decoded[..9]);
    }

    [Fact]
    public void Encoded_files_pass_external_checks_when_available()
    {
        var path = Path.Combine(Path.GetTempPath(), $"farm-png-{Guid.NewGuid():N}.png");
        try
        {
            var pixels = new byte[32 * 16 * 4];
            new Random(5).NextBytes(pixels);
            PngEncoder.Save(new RgbImage(32, 16, 4, pixels), path, [new("Title", "ok"), new("ü", "ünïcode ✓")]);
            var output = Run("pngcheck", $"-v \"{path}\"") ?? Run("file", $"\"{path}\"");
            if (output is not null) Assert.DoesNotContain("ERROR", output, StringComparison.Ordinal);
            Assert.Equal(pixels, PngDecoder.Load(path).Image.Pixels);
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static string? Run(string tool, string args)
    {
        try
        {
            using var p = Process.Start(new ProcessStartInfo(tool, args) { RedirectStandardOutput = true, RedirectStandardError = true })!;
            var output = p.StandardOutput.ReadToEnd() + p.StandardError.ReadToEnd();
            p.WaitForExit();
            return p.ExitCode == 0 ? output : "ERROR exit " + p.ExitCode + ": " + output;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null; // tool not installed
        }
    }

    /// <summary>Builds a PNG from already-filtered rows (filter byte first) for decoder tests.</summary>
    private static byte[] Handmade(int width, int height, byte bitDepth, byte colorType, byte interlace, byte[][] rows,
        params (string Type, byte[] Data)[] extra)
    {
        using var ms = new MemoryStream();
        ms.Write(Farm.Diffusion.Imaging.Png.PngChunkWriter.Signature);
        var ihdr = new byte[13];
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(ihdr, width);
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(ihdr.AsSpan(4), height);
        ihdr[8] = bitDepth;
        ihdr[9] = colorType;
        ihdr[12] = interlace;
        Chunk(ms, "IHDR", ihdr);
        foreach (var (type, data) in extra) Chunk(ms, type, data);
        using var raw = new MemoryStream();
        using (var z = new System.IO.Compression.ZLibStream(raw, System.IO.Compression.CompressionLevel.Fastest, true))
            foreach (var row in rows) z.Write(row);
        Chunk(ms, "IDAT", raw.ToArray());
        Chunk(ms, "IEND", []);
        return ms.ToArray();
    }

    private static void Chunk(Stream s, string type, byte[] data)
    {
        var code = System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(System.Text.Encoding.ASCII.GetBytes(type));
        Farm.Diffusion.Imaging.Png.PngChunkWriter.Write(s, (Farm.Diffusion.Imaging.Png.PngChunkType)code, data);
    }
}

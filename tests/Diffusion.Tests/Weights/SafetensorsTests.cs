using System.Runtime.InteropServices;
using Farm.Diffusion.Weights;
using Farm.Testing;
using Xunit;

namespace Farm.Diffusion.Tests.Weights;

public sealed class SafetensorsTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("farm-st-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    [SkippableTheory]
    [InlineData("text_encoder/model.safetensors")]
    [InlineData("unet/diffusion_pytorch_model.safetensors")]
    [InlineData("vae/diffusion_pytorch_model.safetensors")]
    public void Fixture_model_files_parse_and_their_tensors_tile_the_data_section(string relative)
    {
        using var file = SafetensorsFile.Open(Path.Combine(Fixtures.ModelDir, relative));
        Assert.NotEmpty(file.Tensors);
        var headerEnd = file.Tensors[0].FileOffset;
        Assert.Equal(file.FileLength - headerEnd, file.Tensors.Sum(t => t.ByteLength));
        foreach (var tensor in file.Tensors)
        {
            Assert.Equal(SafetensorsDType.F32, tensor.DType);
            Assert.Equal(tensor.ElementCount, file.ReadFloat32(tensor.Name).Length);
        }
    }

    [SkippableFact]
    public void Case_tensors_read_as_int64_and_uint8()
    {
        using var file = SafetensorsFile.Open(Path.Combine(Fixtures.Case("unet_b2_t981_textemb"), "tensors.safetensors"));
        Assert.Equal(SafetensorsDType.I64, file["input_ids"].DType);
        var ids = file.ReadInt64("input_ids");
        Assert.Equal(49406, ids[0]);
        using var vae = SafetensorsFile.Open(Path.Combine(Fixtures.Case("vae_encode"), "tensors.safetensors"));
        Assert.Equal(vae["image_uint8"].ElementCount, vae.ReadUInt8("image_uint8").Length);
    }

    [SkippableFact]
    public void A_symbolic_link_opens_as_the_file_it_points_to()
    {
        var target = Path.Combine(Fixtures.ModelDir, "unet/diffusion_pytorch_model.safetensors");
        var link = Path.Combine(dir, "linked.safetensors");
        File.CreateSymbolicLink(link, target);
        using var file = SafetensorsFile.Open(link);
        Assert.Equal(new FileInfo(target).Length, file.FileLength);
        using var original = SafetensorsFile.Open(target);
        Assert.Equal(original.Tensors.Select(t => t.Name), file.Tensors.Select(t => t.Name));
    }

    [SkippableFact]
    public void Released_pages_read_back_unchanged_from_the_file()
    {
        var path = Path.Combine(Fixtures.ModelDir, "unet/diffusion_pytorch_model.safetensors");
        using var file = SafetensorsFile.Open(path);
        var largest = file.Tensors.MaxBy(t => t.ByteLength)!;
        Assert.True(largest.ByteLength > 3 * Environment.SystemPageSize, "the test needs a tensor spanning whole pages");
        var expected = new byte[largest.ByteLength];
        using (var stream = File.OpenRead(path))
        {
            stream.Position = largest.FileOffset;
            stream.ReadExactly(expected);
        }
        Assert.Equal(expected, file.GetBytes(largest.Name).ToArray());
        file.ReleasePages(largest.Name);
        Assert.Equal(expected, file.GetBytes(largest.Name).ToArray());
    }

    [Fact]
    public void Written_files_read_back_with_shapes_bytes_and_metadata()
    {
        var floats = new float[] { 1.5f, -2f, 3.25f, 0f, 1e-3f, 42f };
        var halves = new Half[] { (Half)1.5f, (Half)(-0.25f) };
        var bf16 = new ushort[] { 0x3FC0, 0xC000 }; // 1.5, -2
        var longs = new long[] { 1, -2, long.MaxValue };
        var path = Path.Combine(dir, "w.safetensors");
        SafetensorsWriter.Write(path,
        [
            ("a.weight", SafetensorsDType.F32, [2, 3], MemoryMarshal.AsBytes(floats.AsSpan()).ToArray()),
            ("h", SafetensorsDType.F16, [2], MemoryMarshal.AsBytes(halves.AsSpan()).ToArray()),
            ("b", SafetensorsDType.BF16, [2], MemoryMarshal.AsBytes(bf16.AsSpan()).ToArray()),
            ("ids", SafetensorsDType.I64, [3], MemoryMarshal.AsBytes(longs.AsSpan()).ToArray()),
            ("img", SafetensorsDType.U8, [1, 3], new byte[] { 0, 128, 255 }),
            ("scalar", SafetensorsDType.F32, [], BitConverter.GetBytes(7f)),
        ], new Dictionary<string, string> { ["format"] = "pt", ["note"] = "tiny" });

        using var file = SafetensorsFile.Open(path);
        Assert.Equal(["a.weight", "h", "b", "ids", "img", "scalar"], file.Tensors.Select(t => t.Name));
        Assert.Equal([2L, 3L], file["a.weight"].Shape);
        Assert.Equal(floats, file.ReadFloat32("a.weight"));
        Assert.Equal([1.5f, -0.25f], file.ReadFloat32("h"));
        Assert.Equal([1.5f, -2f], file.ReadFloat32("b"));
        Assert.Equal(longs, file.ReadInt64("ids"));
        Assert.Equal([0, 128, 255], file.ReadUInt8("img"));
        Assert.Equal([7f], file.ReadFloat32("scalar"));
        Assert.Equal("tiny", file.Metadata["note"]);
        Assert.Equal(0, (file.Tensors[0].FileOffset - 8) % 8); // header padded to 8 bytes
        Assert.Throws<InvalidOperationException>(() => file.ReadInt64("a.weight"));
        Assert.Throws<KeyNotFoundException>(() => file["missing"]);
    }

    [Fact]
    public void A_truncated_file_is_rejected_with_a_clear_error()
    {
        var path = Path.Combine(dir, "t.safetensors");
        SafetensorsWriter.Write(path, [("x", SafetensorsDType.F32, [4], new byte[16])]);
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..^4]);
        var e = Assert.Throws<InvalidDataException>(() => SafetensorsFile.Open(path));
        Assert.Contains("data_offsets", e.Message);

        File.WriteAllBytes(path, bytes[..20]);
        e = Assert.Throws<InvalidDataException>(() => SafetensorsFile.Open(path));
        Assert.Contains("header length", e.Message);

        File.WriteAllBytes(path, bytes[..5]);
        Assert.Throws<InvalidDataException>(() => SafetensorsFile.Open(path));
    }

    [Fact]
    public void Unknown_dtypes_and_size_mismatches_are_rejected()
    {
        var path = Path.Combine(dir, "bad.safetensors");
        WriteRaw(path, """{"x":{"dtype":"Q4","shape":[1],"data_offsets":[0,4]}}""", 4);
        Assert.Contains("unknown dtype 'Q4'", Assert.Throws<InvalidDataException>(() => SafetensorsFile.Open(path)).Message);
        WriteRaw(path, """{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}""", 4);
        Assert.Contains("needs 8", Assert.Throws<InvalidDataException>(() => SafetensorsFile.Open(path)).Message);
        WriteRaw(path, """{"x":""", 0);
        Assert.Contains("JSON", Assert.Throws<InvalidDataException>(() => SafetensorsFile.Open(path)).Message);
    }

    private static void WriteRaw(string path, string header, int dataBytes)
    {
        var h = System.Text.Encoding.UTF8.GetBytes(header);
        using var f = File.Create(path);
        f.Write(BitConverter.GetBytes((ulong)h.Length));
        f.Write(h);
        f.Write(new byte[dataBytes]);
    }
}

using System.Runtime.InteropServices;
using Farm.Diffusion.Models;
using Farm.Diffusion.Models.Loading;
using Farm.Diffusion.Torch;

namespace Farm.Diffusion.Tests.Loading;

/// <summary>Weights read from a single file equal the folder model's, bit for bit (fp16 file: the folder weights rounded to fp16).</summary>
public sealed class WeightParityTests
{
    [SkippableFact]
    public void Every_tensor_of_sd_tiny_ckpt_equals_the_sd_tiny_folder_tensor_bit_for_bit()
    {
        var c = CheckpointCase.SdTinyCkpt;
        AssertParity(c, roundToHalf: false);
    }

    [SkippableFact]
    public void Every_tensor_of_the_sdxl_fp16_file_equals_the_folder_tensor_rounded_to_fp16_bit_for_bit()
    {
        var c = CheckpointCase.SdxlTinyFp16;
        AssertParity(c, roundToHalf: true);
    }

    internal static void AssertParity(CheckpointCase c, bool roundToHalf) => AssertParity(c.File, c.FolderModel, roundToHalf);

    internal static void AssertParity(string file, string folderModel, bool roundToHalf)
    {
        using var fromFile = ModelSource.Open(file, configDir: folderModel);
        using var fromFolder = ModelSource.Open(folderModel);
        var compared = 0;
        foreach (var component in fromFolder.Components)
        {
            var expected = fromFolder.OpenWeights(component);
            var actual = fromFile.OpenWeights(component);
            Assert.Equal(expected.Keys.Order(StringComparer.Ordinal), actual.Keys.Order(StringComparer.Ordinal));
            foreach (var key in expected.Keys)
            {
                using var scope = torch.NewDisposeScope();
                var e = expected.Load(key, ScalarType.Float32, Device.Cpu);
                if (roundToHalf)
                {
                    using var half = e.to(ScalarType.Float16);
                    e = half.to(ScalarType.Float32);
                }
                var a = actual.Load(key, ScalarType.Float32, Device.Cpu);
                Assert.Equal(e.shape, a.shape);
                var eb = MemoryMarshal.AsBytes(e.ToArray<float>().AsSpan()).ToArray();
                var ab = MemoryMarshal.AsBytes(a.ToArray<float>().AsSpan()).ToArray();
                Assert.True(eb.AsSpan().SequenceEqual(ab), $"{component}:{key} differs from the folder model's tensor");
                e.Dispose();
                a.Dispose();
                compared++;
            }
        }
        Assert.True(compared > 0);
    }
}

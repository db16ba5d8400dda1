using Farm.Diffusion.Models.Loading;
using Farm.Diffusion.Weights;
using Farm.Testing;

namespace Farm.Diffusion.Tests.Loading;

public sealed class FamilyDetectionTests
{
    [SkippableTheory]
    [InlineData(Fixtures.SdTiny, "SD1")]
    [InlineData(Fixtures.Sd2Tiny, "SD2")]
    [InlineData(Fixtures.SdxlTiny, "SDXL")]
    public void A_folder_models_family_comes_from_model_index_and_its_text_encoder(string fixture, string expected)
    {
        using var source = ModelSource.Open(Fixtures.Model(fixture));
        Assert.Equal(expected, source.Family.ToString());
        Assert.False(source.IsSingleFile);
    }

    [SkippableTheory]
    [InlineData("sd-tiny.ckpt", "SD1")]
    [InlineData("sdxl-tiny.fp16.safetensors", "SDXL")]
    public void A_single_files_family_comes_from_its_text_encoder_keys(string file, string expected)
    {
        using var source = ModelSource.Open(Fixtures.PathIn(Fixtures.SingleFile, "checkpoints", file));
        Assert.Equal(expected, source.Family.ToString());
        Assert.True(source.IsSingleFile);
    }

    [Fact]
    public void A_file_without_a_known_text_encoder_is_refused_naming_the_file_and_what_was_looked_for()
    {
        var dir = Directory.CreateTempSubdirectory("farm-loading-");
        try
        {
            var path = Path.Combine(dir.FullName, "mystery.safetensors");
            SafetensorsWriter.Write(path, [("model.diffusion_model.input_blocks.0.0.weight", SafetensorsDType.F32, [1L], new byte[4])]);
            var e = Assert.Throws<InvalidDataException>(() => ModelSource.Open(path));
            Assert.Contains(path, e.Message);
            Assert.Contains(FamilyDetection.SdxlOpenClipPrefix, e.Message);
            Assert.Contains(FamilyDetection.Sd2OpenClipPrefix, e.Message);
            Assert.Contains(FamilyDetection.Sd1ClipPrefix, e.Message);
            Assert.Contains("UNet-only", e.Message);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public void A_file_that_is_not_a_checkpoint_is_refused_by_name()
    {
        var path = Path.GetTempFileName();
        try
        {
            var e = Assert.Throws<InvalidDataException>(() => ModelSource.Open(path));
            Assert.Contains(path, e.Message);
            Assert.Contains(".safetensors", e.Message);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [SkippableFact]
    public void A_hostile_ckpt_is_refused_through_the_model_source_naming_os_system()
    {
        var path = Fixtures.PathIn(Fixtures.SingleFile, "hostile", "evil.ckpt");
        var e = Assert.ThrowsAny<Exception>(() => ModelSource.Open(path));
        Assert.Contains("os.system", e.Message);
        Assert.Contains("evil.ckpt", e.Message);
    }

    [Theory]
    [InlineData("lora_te1_text_model_encoder_layers_0_self_attn_q_proj.lora_down.weight", 768, "SDXL")]
    [InlineData("lora_te_text_model_encoder_layers_0_self_attn_q_proj.lora_down.weight", 768, "SD1")]
    [InlineData("lora_te_text_model_encoder_layers_0_self_attn_q_proj.lora_down.weight", 1024, "SD2")]
    [InlineData("lora_unet_down_blocks_0_attentions_0_proj_in.lora_down.weight", 320, null)]
    public void A_loras_base_family_comes_from_its_text_encoder_keys_and_width(string key, long width, string? expected)
    {
        string[] keys = [key];
        Assert.True(FamilyDetection.IsLora(keys));
        Assert.Equal(expected, FamilyDetection.LoraBaseFamily(keys, _ => [4, width])?.ToString());
    }
}

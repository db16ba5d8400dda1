using Farm.Diffusion.Imaging;
using Xunit;

namespace Farm.Diffusion.Tests.Imaging;

public sealed class GenerationMetadataTests
{
    private static GenerationMetadata Sample() => new()
    {
        Prompt = "a photograph of an astronaut riding a horse",
        NegativePrompt = "blurry, low quality",
        Steps = 20,
        Sampler = "euler-a",
        CfgScale = 7.5,
        Seed = 1234,
        Width = 512,
        Height = 512,
        ModelName = "sd-tiny",
        ModelHash = "abcdef1234",
        EngineVersion = "farm 0.1.0",
    };

    [Fact]
    public void A1111_parameters_text_has_the_exact_format()
    {
        Assert.Equal(
            "a photograph of an astronaut riding a horse\nNegative prompt: blurry, low quality\n"
            + "Steps: 20, Sampler: Euler a, CFG scale: 7.5, Seed: 1234, Size: 512x512, Model hash: abcdef1234, Model: sd-tiny, Version: farm 0.1.0",
            Sample().ToA1111Parameters());
    }

    [Fact]
    public void A1111_parameters_omit_an_empty_negative_prompt_and_show_strength()
    {
        var m = Sample() with { NegativePrompt = "", Sampler = "dpm++2m-karras", CfgScale = 7, Strength = 0.6, ModelHash = null, ModelName = "v1: tiny" };
        Assert.Equal(
            "a photograph of an astronaut riding a horse\n"
            + "Steps: 20, Sampler: DPM++ 2M Karras, CFG scale: 7, Seed: 1234, Size: 512x512, Model: \"v1: tiny\", Denoising strength: 0.6, Version: farm 0.1.0",
            m.ToA1111Parameters());
    }

    [Theory]
    [InlineData("ddim", "DDIM")]
    [InlineData("pndm", "PLMS")]
    [InlineData("lms", "LMS")]
    [InlineData("euler", "Euler")]
    [InlineData("euler-a", "Euler a")]
    [InlineData("dpm++2m", "DPM++ 2M")]
    [InlineData("dpm++2m-karras", "DPM++ 2M Karras")]
    [InlineData("ddpm", "DDPM")]
    [InlineData("heun", "Heun")]
    [InlineData("unipc", "UniPC")]
    public void Sampler_names_map_to_A1111_names(string farm, string a1111)
    {
        Assert.Equal(a1111, GenerationMetadata.A1111SamplerName(farm));
    }

    [Fact]
    public void Json_round_trips_every_field_exactly()
    {
        var m = Sample() with
        {
            CfgScale = 0.1 + 0.2, Seed = long.MaxValue, Strength = 0.75, InitImageHash = "deadbeef", Masked = true,
            DType = "float32", Device = "cuda:0", Prompt = "日本の桜 \"quoted\"\nline",
        };
        Assert.Equal(m, GenerationMetadata.FromJson(m.ToJson()));
        Assert.Contains("\"cfg_scale\":", m.ToJson());
    }

    [Fact]
    public void Metadata_survives_a_png_round_trip()
    {
        var m = Sample() with { Prompt = "猫 on a sofa" };
        var png = PngEncoder.EncodeToBytes(new RgbImage(4, 4, 3), m.ToPngText());

        Assert.Equal(m, GenerationMetadata.FromPng(new MemoryStream(png)));
        var text = PngDecoder.Decode(png).Text;
        Assert.Equal(m.ToA1111Parameters(), text[GenerationMetadata.A1111Keyword]);
        Assert.Null(GenerationMetadata.FromPng(new MemoryStream(PngEncoder.EncodeToBytes(new RgbImage(1, 1, 3)))));
    }
}

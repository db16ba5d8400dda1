using Farm.Diffusion.Models;
using Farm.Diffusion.Models.Clip;
using Farm.Diffusion.Models.Loading;
using Farm.Diffusion.Models.Unet;
using Farm.Diffusion.Models.Vae;

namespace Farm.Diffusion.Tests.Loading;

/// <summary>
/// The standard configs build the reference models: parameter counts as published for runwayml/stable-diffusion-v1-5
/// and stabilityai/stable-diffusion-2 (diffusers' <c>num_parameters()</c> of each component). Building a model only
/// records shapes, so no weights are allocated.
/// </summary>
public sealed class StandardConfigTests
{
    [Theory]
    [InlineData("SD1", 859_520_964L, 83_653_863L, 123_060_480L)]
    [InlineData("SD2", 865_910_724L, 83_653_863L, 340_387_840L)]
    public void The_standard_configs_build_models_with_the_reference_parameter_counts(string family, long unet, long vae, long text)
    {
        var f = Enum.Parse<ModelFamily>(family);
        using var u = new UNet2DConditionModel(UNet2DConditionConfig.Parse(StandardConfigs.Unet(f)));
        using var v = new AutoencoderKL(AutoencoderKLConfig.Parse(StandardConfigs.Vae(f)));
        using var doc = System.Text.Json.JsonDocument.Parse(StandardConfigs.TextEncoder(f));
        using var t = new CLIPTextModel(CLIPTextConfig.FromJson(doc.RootElement));
        Assert.Equal(unet, Count(u));
        Assert.Equal(vae, Count(v));
        Assert.Equal(text, Count(t));
    }

    private static long Count(Module m) => m.NamedParameters().Sum(p => p.Parameter.Shape.Aggregate(1L, (a, b) => a * b));
}

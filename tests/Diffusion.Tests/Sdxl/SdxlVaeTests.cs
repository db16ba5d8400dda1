using Farm.Diffusion.Models.Vae;
using Farm.Diffusion.Tests.Golden;
using Farm.Diffusion.Torch;
using Farm.Testing;

namespace Farm.Diffusion.Tests.Sdxl;

/// <summary>The SDXL VAE (scaling factor 0.13025) against diffusers; README: single VAE forward 1e-4 abs.</summary>
public sealed class SdxlVaeTests
{
    private const double Atol = 1e-4;

    private static string VaeDir => SdxlModel.Component("vae");

    [SkippableFact]
    public void Decoding_reproduces_the_diffusers_image()
    {
        using var golden = GoldenCase.Open(Fixtures.SdxlTiny, "vae_decode");
        using var vae = AutoencoderKL.FromDirectory(VaeDir, ScalarType.Float32, Device.Cpu);
        using var scope = torch.NewDisposeScope();
        Assert.Equal(0.13025, vae.ScalingFactor);
        Close.Assert(golden.Tensor("z"), golden.Tensor("latents") / vae.ScalingFactor, 0, "z");
        var image = vae.Decode(golden.Tensor("z"));
        Close.Assert(golden.Tensor("image"), image, Atol, "image");
        Close.Assert(golden.Tensor("image_postprocessed"), (image / 2 + 0.5).clamp(0, 1), Atol, "image_postprocessed");
    }

    [SkippableFact]
    public void Encoding_reproduces_the_diffusers_posterior_and_its_seeded_sample()
    {
        using var golden = GoldenCase.Open(Fixtures.SdxlTiny, "vae_encode");
        using var vae = AutoencoderKL.FromDirectory(VaeDir, ScalarType.Float32, Device.Cpu);
        using var scope = torch.NewDisposeScope();
        var x = golden.Tensor("image_uint8").to(ScalarType.Float32).permute(2, 0, 1).unsqueeze(0) / 255.0 * 2.0 - 1.0;
        Close.Assert(golden.Tensor("x"), x, 0, "x");
        using var posterior = vae.Encode(golden.Tensor("x"));
        using var generator = new Generator(golden.Params.GetProperty("sample_seed").GetUInt64());
        Close.Assert(golden.Tensor("mean"), posterior.Mean, Atol, "mean");
        Close.Assert(golden.Tensor("logvar"), posterior.LogVar, Atol, "logvar");
        Close.Assert(golden.Tensor("std"), posterior.Std, Atol, "std");
        Close.Assert(golden.Tensor("sample"), posterior.Sample([generator]), Atol, "sample");
    }
}

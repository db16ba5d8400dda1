using Farm.Diffusion.Models.Unet;
using Farm.Diffusion.Tests.Golden;
using Farm.Diffusion.Tests.Models;
using Farm.Diffusion.Torch;
using Farm.Testing;
using Xunit.Abstractions;

namespace Farm.Diffusion.Tests.Sdxl;

/// <summary>The text_time UNet against diffusers; README tolerance for a single UNet forward: 1e-4 abs.</summary>
public sealed class SdxlUnetTests(ITestOutputHelper output)
{
    private const double Atol = 1e-4;

    private static string UnetDir => SdxlModel.Component("unet");

    [SkippableTheory]
    [InlineData("unet_b1_8x12_t500p5_randemb")]
    [InlineData("unet_b2_t999_textemb")]
    public void A_single_forward_reproduces_diffusers_time_embeddings_and_noise_prediction(string caseId)
    {
        using var golden = GoldenCase.Open(Fixtures.SdxlTiny, caseId);
        using var unet = UNet2DConditionModel.FromDirectory(UnetDir, ScalarType.Float32, Device.Cpu);
        using var scope = torch.NewDisposeScope();
        var sample = golden.Tensor("sample");
        var timestep = golden.Tensor("timestep");
        var added = new AddedConditions(golden.Tensor("text_embeds"), golden.Tensor("time_ids"));

        Close.Assert(golden.Tensor("time_emb"), unet.TimeEmbedding(sample, timestep), Atol, $"{caseId} time_emb");
        Close.Assert(golden.Tensor("add_time_proj_out"), unet.AddTimeProj(added.TimeIds), Atol, $"{caseId} add_time_proj_out");
        Close.Assert(golden.Tensor("aug_emb"), unet.AugEmbedding(added, ScalarType.Float32), Atol, $"{caseId} aug_emb");

        var expected = golden.Tensor("noise_pred");
        var actual = unet.Forward(sample, timestep, golden.Tensor("encoder_hidden_states"), added);
        output.WriteLine($"{caseId}: max |diff| = {(expected - actual).MaxAbs():G3}");
        Close.Assert(expected, actual, Atol, $"{caseId} noise_pred");
    }

    [SkippableFact]
    public void The_model_built_from_the_config_has_exactly_the_checkpoint_keys_and_shapes()
    {
        using var unet = new UNet2DConditionModel(UNet2DConditionConfig.FromJson(Path.Combine(UnetDir, "config.json")));
        CheckpointKeys.AssertMatch(unet, Path.Combine(UnetDir, UNet2DConditionModel.WeightsFileName));
    }

    [SkippableFact]
    public void A_text_time_unet_refuses_a_forward_without_added_conditions()
    {
        using var golden = GoldenCase.Open(Fixtures.SdxlTiny, "unet_b2_t999_textemb");
        using var unet = UNet2DConditionModel.FromDirectory(UnetDir, ScalarType.Float32, Device.Cpu);
        using var scope = torch.NewDisposeScope();
        var error = Assert.Throws<ArgumentException>(() => unet.Forward(golden.Tensor("sample"), golden.Tensor("timestep"), golden.Tensor("encoder_hidden_states")));
        Assert.Contains("text_time", error.Message);
    }
}

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

    [Fact]
    public void Sdxl_base_configs_unet_has_the_published_parameter_count()
    {
        // stabilityai/stable-diffusion-xl-base-1.0 unet/config.json (the keys that differ from the defaults).
        const string json = """
            { "addition_embed_type": "text_time", "addition_time_embed_dim": 256, "attention_head_dim": [5, 10, 20],
              "block_out_channels": [320, 640, 1280], "cross_attention_dim": 2048,
              "down_block_types": ["DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"],
              "projection_class_embeddings_input_dim": 2816, "sample_size": 128, "transformer_layers_per_block": [1, 2, 10],
              "up_block_types": ["CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"], "use_linear_projection": true }
            """;
        using var unet = new UNet2DConditionModel(UNet2DConditionConfig.Parse(json));
        var shapes = unet.NamedParameters().ToDictionary(p => p.Key, p => p.Parameter.Shape);
        Assert.Equal([1280, 2816], shapes["add_embedding.linear_1.weight"]);
        Assert.Equal([640, 2048], shapes["down_blocks.1.attentions.0.transformer_blocks.1.attn2.to_k.weight"]);
        Assert.Contains("mid_block.attentions.0.transformer_blocks.9.ff.net.2.weight", shapes.Keys);
        Assert.Contains("up_blocks.0.attentions.2.transformer_blocks.9.attn1.to_q.weight", shapes.Keys);
        Assert.Equal(2_567_463_684L, unet.NamedParameters().Sum(p => p.Parameter.Shape.Aggregate(1L, (a, b) => a * b)));
    }
}

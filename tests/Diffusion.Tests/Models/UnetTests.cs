using Farm.Diffusion.Models.Unet;
using Farm.Diffusion.Tests.Golden;
using Farm.Diffusion.Torch;
using Farm.Diffusion.Weights;
using Farm.Testing;
using Xunit.Abstractions;

namespace Farm.Diffusion.Tests.Models;

public sealed class UnetTests(ITestOutputHelper output)
{
    private static string UnetDir => Path.Combine(Fixtures.ModelDir, "unet");

    [SkippableTheory]
    [InlineData("unet_b1_8x12_t1")]
    [InlineData("unet_b2_t453p7_randemb")]
    [InlineData("unet_b2_t981_textemb")]
    public void A_single_forward_reproduces_the_diffusers_noise_prediction(string caseId)
    {
        using var golden = GoldenCase.Open(caseId);
        using var unet = UNet2DConditionModel.FromDirectory(UnetDir, ScalarType.Float32, Device.Cpu);
        using var scope = torch.NewDisposeScope();
        var expected = golden.Tensor("noise_pred");
        var actual = unet.Forward(golden.Tensor("sample"), golden.Tensor("timestep"), golden.Tensor("encoder_hidden_states"));
        output.WriteLine($"{caseId}: max |diff| = {(expected - actual).MaxAbs():G3}");
        // README suggests 1e-4 for a single UNet forward; its measured 1-vs-2-thread differences (summation order only)
        // are ≤ 3.7e-6 on these cases, so 1e-5 still leaves room for that and catches any real op difference.
        Close.Assert(expected, actual, 1e-5, $"{caseId} noise_pred");
    }

    [SkippableFact]
    public void A_timestep_given_per_image_gives_the_same_result_as_a_0_d_timestep()
    {
        using var golden = GoldenCase.Open("unet_b2_t981_textemb");
        using var unet = UNet2DConditionModel.FromDirectory(UnetDir, ScalarType.Float32, Device.Cpu);
        using var scope = torch.NewDisposeScope();
        var sample = golden.Tensor("sample");
        var ehs = golden.Tensor("encoder_hidden_states");
        var scalar = unet.Forward(sample, golden.Tensor("timestep"), ehs);
        var perImage = unet.Forward(sample, torch.tensor([981.0f, 981.0f], 2), ehs);
        // An int64 981 and a float 981.0 embed identically (both become float32 before the sinusoid).
        Close.Assert(scalar, perImage, 0, "per-image float timesteps vs 0-d int64");
    }

    [SkippableFact]
    public void The_model_built_from_the_config_has_exactly_the_checkpoint_keys_and_shapes()
    {
        using var unet = new UNet2DConditionModel(UNet2DConditionConfig.FromJson(Path.Combine(UnetDir, "config.json")));
        CheckpointKeys.AssertMatch(unet, Path.Combine(UnetDir, UNet2DConditionModel.WeightsFileName));
    }

    [SkippableFact]
    public void Loading_a_tensor_of_the_wrong_shape_names_the_key_and_both_shapes()
    {
        using var unet = new UNet2DConditionModel(UNet2DConditionConfig.FromJson(Path.Combine(UnetDir, "config.json")));
        using var weights = SafetensorsWeights.Open(Path.Combine(UnetDir, UNet2DConditionModel.WeightsFileName));
        const string key = "mid_block.attentions.0.transformer_blocks.0.attn2.to_k.weight";
        var error = Assert.Throws<InvalidDataException>(() =>
            unet.Load(new WeightSourceWithChange(weights, key, [64, 48]), ScalarType.Float32, Device.Cpu));
        Assert.Contains(key, error.Message);
        Assert.Contains("[64, 48]", error.Message);
        Assert.Contains("[64, 32]", error.Message);
    }

    [SkippableFact]
    public void Loading_a_checkpoint_without_a_key_names_the_missing_key()
    {
        using var unet = new UNet2DConditionModel(UNet2DConditionConfig.FromJson(Path.Combine(UnetDir, "config.json")));
        using var weights = SafetensorsWeights.Open(Path.Combine(UnetDir, UNet2DConditionModel.WeightsFileName));
        const string key = "up_blocks.1.resnets.0.conv_shortcut.weight";
        var error = Assert.Throws<InvalidDataException>(() =>
            unet.Load(new WeightSourceWithChange(weights, key, null), ScalarType.Float32, Device.Cpu));
        Assert.Contains($"{key} [32, 96, 1, 1]", error.Message);
    }

    [SkippableFact]
    public void The_fixture_config_reads_attention_head_dim_as_the_number_of_heads()
    {
        var config = UNet2DConditionConfig.FromJson(Path.Combine(UnetDir, "config.json"));
        Assert.Equal([32, 32, 32, 64], config.BlockOutChannels);
        Assert.Equal([8, 8, 8, 8], config.NumAttentionHeads);
        Assert.Equal([32, 32, 32, 32], config.CrossAttentionDim);
        Assert.Equal([2, 2, 2, 2], config.LayersPerBlock);
        Assert.Equal(8, config.NormNumGroups);
        Assert.Equal(128, config.TimeEmbedDim);
    }

    [Fact]
    public void Absent_keys_take_the_diffusers_defaults_which_are_sd15s_unet_with_1280_wide_text()
    {
        var config = UNet2DConditionConfig.Parse("{}");
        using var unet = new UNet2DConditionModel(config);
        var shapes = unet.NamedParameters().ToDictionary(p => p.Key, p => p.Parameter.Shape);
        Assert.Equal([1280, 320], shapes["time_embedding.linear_1.weight"]);
        Assert.Equal([320, 320, 1, 1], shapes["down_blocks.0.attentions.0.proj_in.weight"]);
        Assert.Equal([320, 1280], shapes["down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k.weight"]);
        Assert.Equal([2560, 320], shapes["up_blocks.3.attentions.2.transformer_blocks.0.ff.net.0.proj.weight"]);
        Assert.Equal([1280, 2560, 3, 3], shapes["up_blocks.0.resnets.0.conv1.weight"]);
        Assert.Equal(872_300_484L, Count(unet));
        // SD1.5's config differs from the defaults only by cross_attention_dim 768: its published 859,520,964 parameters.
        using var sd15 = new UNet2DConditionModel(UNet2DConditionConfig.Parse("""{ "cross_attention_dim": 768 }"""));
        Assert.Equal(859_520_964L, Count(sd15));
    }

    private static long Count(UNet2DConditionModel unet) => unet.NamedParameters().Sum(p => p.Parameter.Shape.Aggregate(1L, (a, b) => a * b));

    [Fact]
    public void An_sd2_config_uses_linear_projections_and_per_block_head_counts()
    {
        const string json = """
            { "attention_head_dim": [5, 10, 20, 20], "cross_attention_dim": 1024, "use_linear_projection": true,
              "upcast_attention": true, "num_attention_heads": null, "sample_size": 96 }
            """;
        var config = UNet2DConditionConfig.Parse(json);
        Assert.Equal([5, 10, 20, 20], config.NumAttentionHeads);
        using var unet = new UNet2DConditionModel(config);
        var shapes = unet.NamedParameters().ToDictionary(p => p.Key, p => p.Parameter.Shape);
        Assert.Equal([320, 320], shapes["down_blocks.0.attentions.0.proj_in.weight"]);
        Assert.Equal([1280, 1280], shapes["mid_block.attentions.0.proj_out.weight"]);
        Assert.Equal([640, 1024], shapes["up_blocks.2.attentions.0.transformer_blocks.0.attn2.to_v.weight"]);
        Assert.Equal(865_910_724L, Count(unet)); // SD2.x's published parameter count
    }

    [Fact]
    public void An_unsupported_block_type_is_named_in_the_error()
    {
        var config = UNet2DConditionConfig.Parse("""{ "down_block_types": ["CrossAttnDownBlock2D", "SimpleCrossAttnDownBlock2D", "DownBlock2D", "DownBlock2D"] }""");
        var error = Assert.Throws<NotSupportedException>(() => new UNet2DConditionModel(config));
        Assert.Contains("SimpleCrossAttnDownBlock2D", error.Message);
    }

    [Fact]
    public void An_unsupported_config_key_is_named_in_the_error()
    {
        var error = Assert.Throws<NotSupportedException>(() => UNet2DConditionConfig.Parse("""{ "addition_embed_type": "text_image" }"""));
        Assert.Contains("addition_embed_type", error.Message);
    }
}

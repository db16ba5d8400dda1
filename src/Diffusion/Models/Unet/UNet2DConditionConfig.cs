using Farm.Diffusion.Models.Blocks;

namespace Farm.Diffusion.Models.Unet;

/// <summary>
/// The parts of a UNet2DConditionModel <c>config.json</c> that Farm implements, with diffusers 0.27's defaults for
/// absent keys. Per-block values (given in the file as one number or a list) are stored one per down block, in
/// down-block order. Keys that select architecture Farm does not implement are rejected by name.
/// </summary>
internal sealed record UNet2DConditionConfig
{
    public int? SampleSize { get; init; }
    public int InChannels { get; init; } = 4;
    public int OutChannels { get; init; } = 4;
    public bool CenterInputSample { get; init; }
    public bool FlipSinToCos { get; init; } = true;
    public int FreqShift { get; init; }
    public IReadOnlyList<string> DownBlockTypes { get; init; } = ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"];
    public string? MidBlockType { get; init; } = "UNetMidBlock2DCrossAttn";
    public IReadOnlyList<string> UpBlockTypes { get; init; } = ["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"];
    public IReadOnlyList<int> BlockOutChannels { get; init; } = [320, 640, 1280, 1280];
    public IReadOnlyList<int> LayersPerBlock { get; init; } = [2, 2, 2, 2];
    public int DownsamplePadding { get; init; } = 1;
    public double MidBlockScaleFactor { get; init; } = 1;
    public int NormNumGroups { get; init; } = 32;
    public double NormEps { get; init; } = 1e-5;
    public IReadOnlyList<int> CrossAttentionDim { get; init; } = [1280, 1280, 1280, 1280];
    public IReadOnlyList<int> TransformerLayersPerBlock { get; init; } = [1, 1, 1, 1];

    /// <summary>
    /// Heads per block. diffusers 0.27 names this <c>attention_head_dim</c> in the config (a historical misnomer:
    /// SD1.x's 8 is eight heads, SD2's [5, 10, 20, 20] are head counts giving 64-wide heads) and rejects
    /// <c>num_attention_heads</c>; the head width is each block's channels divided by this.
    /// </summary>
    public IReadOnlyList<int> NumAttentionHeads { get; init; } = [8, 8, 8, 8];
    public IReadOnlyList<bool> OnlyCrossAttention { get; init; } = [false, false, false, false];
    public bool UseLinearProjection { get; init; }
    public bool UpcastAttention { get; init; }
    public int ConvInKernel { get; init; } = 3;
    public int ConvOutKernel { get; init; } = 3;
    public int? TimeEmbeddingDim { get; init; }

    /// <summary>null, or <c>text_time</c> (SDXL): pooled text embeds and size/crop ids added to the time embedding.</summary>
    public string? AdditionEmbedType { get; init; }

    /// <summary>text_time: sinusoidal channels per time id (<c>add_time_proj</c>).</summary>
    public int? AdditionTimeEmbedDim { get; init; }

    /// <summary>text_time: input width of <c>add_embedding</c> (pooled text dim + 6 · addition_time_embed_dim).</summary>
    public int? ProjectionClassEmbeddingsInputDim { get; init; }

    public int TimeEmbedDim => TimeEmbeddingDim ?? BlockOutChannels[0] * 4;

    public static UNet2DConditionConfig FromJson(string path) => Parse(File.ReadAllText(path), path);

    public static UNet2DConditionConfig Parse(string json, string source = "unet config")
    {
        var c = ConfigJson.Parse(json, source);
        c.Require("act_fn", "silu");
        c.Require("time_embedding_type", "positional");
        c.Require("resnet_time_scale_shift", "default");
        c.Require("attention_type", "default");
        c.Require("resnet_skip_time_act", false);
        c.Require("dual_cross_attention", false);
        c.Require("resnet_out_scale_factor", 1.0);
        foreach (var key in new[]
                 {
                     "class_embed_type", "num_class_embeds", "encoder_hid_dim", "encoder_hid_dim_type",
                     "time_cond_proj_dim", "time_embedding_act_fn", "timestep_post_act", "cross_attention_norm",
                     "reverse_transformer_layers_per_block",
                 })
            c.RequireAbsent(key);
        if (c.Has("num_attention_heads"))
            throw new NotSupportedException($"{source}: 'num_attention_heads' is set; diffusers 0.27 rejects it for UNet2DConditionModel (the head count is 'attention_head_dim')");
        var additionEmbedType = c.String("addition_embed_type", null);
        if (additionEmbedType is not (null or "text_time"))
            throw new NotSupportedException($"{source}: 'addition_embed_type' = '{additionEmbedType}' is not supported (text_time)");
        if (c.IsNull("norm_num_groups"))
            throw new NotSupportedException($"{source}: 'norm_num_groups' = null (no output norm) is not supported");

        var down = c.Strings("down_block_types", new UNet2DConditionConfig().DownBlockTypes.ToArray());
        var blocks = down.Length;
        var config = new UNet2DConditionConfig
        {
            SampleSize = c.Has("sample_size") ? c.Int("sample_size", 0) : null,
            InChannels = c.Int("in_channels", 4),
            OutChannels = c.Int("out_channels", 4),
            CenterInputSample = c.Bool("center_input_sample", false),
            FlipSinToCos = c.Bool("flip_sin_to_cos", true),
            FreqShift = c.Int("freq_shift", 0),
            DownBlockTypes = down,
            MidBlockType = c.String("mid_block_type", "UNetMidBlock2DCrossAttn"),
            UpBlockTypes = c.Strings("up_block_types", new UNet2DConditionConfig().UpBlockTypes.ToArray()),
            BlockOutChannels = c.Ints("block_out_channels", [320, 640, 1280, 1280]),
            LayersPerBlock = c.IntPerBlock("layers_per_block", 2, blocks),
            DownsamplePadding = c.Int("downsample_padding", 1),
            MidBlockScaleFactor = c.Double("mid_block_scale_factor", 1),
            NormNumGroups = c.Int("norm_num_groups", 32),
            NormEps = c.Double("norm_eps", 1e-5),
            CrossAttentionDim = c.IntPerBlock("cross_attention_dim", 1280, blocks),
            TransformerLayersPerBlock = c.IntPerBlock("transformer_layers_per_block", 1, blocks),
            NumAttentionHeads = c.IntPerBlock("attention_head_dim", 8, blocks),
            OnlyCrossAttention = c.BoolPerBlock("only_cross_attention", false, blocks),
            UseLinearProjection = c.Bool("use_linear_projection", false),
            UpcastAttention = c.Bool("upcast_attention", false),
            ConvInKernel = c.Int("conv_in_kernel", 3),
            ConvOutKernel = c.Int("conv_out_kernel", 3),
            TimeEmbeddingDim = c.Has("time_embedding_dim") ? c.Int("time_embedding_dim", 0) : null,
            AdditionEmbedType = additionEmbedType,
            AdditionTimeEmbedDim = c.Has("addition_time_embed_dim") ? c.Int("addition_time_embed_dim", 0) : null,
            ProjectionClassEmbeddingsInputDim = c.Has("projection_class_embeddings_input_dim") ? c.Int("projection_class_embeddings_input_dim", 0) : null,
        };
        config.Validate(source);
        return config;
    }

    /// <summary>Checks that the per-block lists agree, as diffusers' constructor does.</summary>
    public void Validate(string source = "unet config")
    {
        var blocks = DownBlockTypes.Count;
        void Check(string key, int count)
        {
            if (count != blocks) throw new InvalidDataException($"{source}: '{key}' has {count} values but down_block_types has {blocks}");
        }
        Check("up_block_types", UpBlockTypes.Count);
        Check("block_out_channels", BlockOutChannels.Count);
        Check("layers_per_block", LayersPerBlock.Count);
        Check("cross_attention_dim", CrossAttentionDim.Count);
        Check("transformer_layers_per_block", TransformerLayersPerBlock.Count);
        Check("attention_head_dim", NumAttentionHeads.Count);
        Check("only_cross_attention", OnlyCrossAttention.Count);
        if (MidBlockScaleFactor != 1) throw new NotSupportedException($"{source}: 'mid_block_scale_factor' = {MidBlockScaleFactor} is not supported (only 1)");
        if (AdditionEmbedType == "text_time" && (AdditionTimeEmbedDim is null || ProjectionClassEmbeddingsInputDim is null))
            throw new InvalidDataException($"{source}: addition_embed_type 'text_time' needs addition_time_embed_dim and projection_class_embeddings_input_dim");
        if (ConvInKernel % 2 == 0 || ConvOutKernel % 2 == 0) throw new NotSupportedException($"{source}: even conv_in_kernel / conv_out_kernel are not supported");
    }
}

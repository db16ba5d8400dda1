namespace Farm.Cli.Commands;

/// <summary>Stable Diffusion XL base 1.0's UNet config (stabilityai/stable-diffusion-xl-base-1.0), for full-size benchmarks with random weights.</summary>
internal static class Sdxl
{
    public const string Unet = """
        {
          "_class_name": "UNet2DConditionModel", "act_fn": "silu", "addition_embed_type": "text_time",
          "addition_embed_type_num_heads": 64, "addition_time_embed_dim": 256, "attention_head_dim": [5, 10, 20],
          "block_out_channels": [320, 640, 1280], "center_input_sample": false, "cross_attention_dim": 2048,
          "down_block_types": ["DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"],
          "downsample_padding": 1, "flip_sin_to_cos": true, "freq_shift": 0, "in_channels": 4, "layers_per_block": 2,
          "mid_block_scale_factor": 1, "norm_eps": 1e-05, "norm_num_groups": 32, "out_channels": 4,
          "projection_class_embeddings_input_dim": 2816, "sample_size": 128,
          "transformer_layers_per_block": [1, 2, 10],
          "up_block_types": ["CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"], "use_linear_projection": true
        }
        """;

    /// <summary>Pooled text width (text_encoder_2's projection_dim) and the six size/crop ids.</summary>
    public const int PooledDim = 1280;

    public const int ContextDim = 2048;
}

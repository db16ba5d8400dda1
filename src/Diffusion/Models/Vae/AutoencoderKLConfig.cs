using Farm.Diffusion.Models.Blocks;

namespace Farm.Diffusion.Models.Vae;

/// <summary>An AutoencoderKL <c>config.json</c>, with diffusers 0.27's defaults for absent keys.</summary>
internal sealed record AutoencoderKLConfig
{
    public int InChannels { get; init; } = 3;
    public int OutChannels { get; init; } = 3;
    public IReadOnlyList<string> DownBlockTypes { get; init; } = ["DownEncoderBlock2D"];
    public IReadOnlyList<string> UpBlockTypes { get; init; } = ["UpDecoderBlock2D"];
    public IReadOnlyList<int> BlockOutChannels { get; init; } = [64];
    public int LayersPerBlock { get; init; } = 1;
    public int LatentChannels { get; init; } = 4;
    public int NormNumGroups { get; init; } = 32;
    public int SampleSize { get; init; } = 32;

    /// <summary>Latents the UNet sees are <c>z · scaling_factor</c>; the pipeline divides by it before <see cref="AutoencoderKL.Decode"/>.</summary>
    public double ScalingFactor { get; init; } = 0.18215;

    /// <summary>diffusers decodes in float32 when the model is float16 and this is set (SD1.x's VAE overflows in half precision).</summary>
    public bool ForceUpcast { get; init; } = true;
    public bool UseQuantConv { get; init; } = true;
    public bool UsePostQuantConv { get; init; } = true;
    public bool MidBlockAddAttention { get; init; } = true;

    /// <summary>Spatial downsampling factor of the encoder: 2^(blocks − 1).</summary>
    public int ScaleFactor => 1 << (BlockOutChannels.Count - 1);

    public static AutoencoderKLConfig FromJson(string path) => Parse(File.ReadAllText(path), path);

    public static AutoencoderKLConfig Parse(string json, string source = "vae config")
    {
        var c = ConfigJson.Parse(json, source);
        c.Require("act_fn", "silu");
        c.RequireAbsent("latents_mean");
        c.RequireAbsent("latents_std");
        c.RequireAbsent("shift_factor");
        var config = new AutoencoderKLConfig
        {
            InChannels = c.Int("in_channels", 3),
            OutChannels = c.Int("out_channels", 3),
            DownBlockTypes = c.Strings("down_block_types", ["DownEncoderBlock2D"]),
            UpBlockTypes = c.Strings("up_block_types", ["UpDecoderBlock2D"]),
            BlockOutChannels = c.Ints("block_out_channels", [64]),
            LayersPerBlock = c.Int("layers_per_block", 1),
            LatentChannels = c.Int("latent_channels", 4),
            NormNumGroups = c.Int("norm_num_groups", 32),
            SampleSize = c.Int("sample_size", 32),
            ScalingFactor = c.Double("scaling_factor", 0.18215),
            ForceUpcast = c.Bool("force_upcast", true),
            UseQuantConv = c.Bool("use_quant_conv", true),
            UsePostQuantConv = c.Bool("use_post_quant_conv", true),
            MidBlockAddAttention = c.Bool("mid_block_add_attention", true),
        };
        config.Validate(source);
        return config;
    }

    public void Validate(string source = "vae config")
    {
        if (DownBlockTypes.Count != BlockOutChannels.Count || UpBlockTypes.Count != BlockOutChannels.Count)
            throw new InvalidDataException($"{source}: down_block_types, up_block_types and block_out_channels must have the same length");
        foreach (var type in DownBlockTypes.Where(t => t != "DownEncoderBlock2D"))
            throw new NotSupportedException($"{source}: down block type '{type}' is not supported (DownEncoderBlock2D)");
        foreach (var type in UpBlockTypes.Where(t => t != "UpDecoderBlock2D"))
            throw new NotSupportedException($"{source}: up block type '{type}' is not supported (UpDecoderBlock2D)");
    }
}

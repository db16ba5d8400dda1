using Farm.Diffusion.Models.Blocks;

namespace Farm.Diffusion.Models.Loading;

/// <summary>
/// CompVis/LDM and SGM UNet names (<c>model.diffusion_model.*</c>, prefix removed) to diffusers'
/// UNet2DConditionModel names. The LDM model numbers its parts in three flat sequences: <c>input_blocks.n</c>
/// (conv_in, then per level its resnets [each with its transformer at <c>.1</c>] and a downsampler, except on the
/// last level), <c>middle_block.0/1/2</c> and <c>output_blocks.n</c> (per level layers_per_block + 1 resnets, the
/// transformer at <c>.1</c>, the upsampler at <c>.1</c> or <c>.2</c>). The numbering follows from the config's
/// layers_per_block, as in diffusers' <c>convert_ldm_unet_checkpoint</c>.
/// </summary>
internal sealed class UnetKeyMap
{
    private static readonly (string Ldm, string Diffusers)[] ResnetParts =
    [
        ("in_layers.0.", "norm1."), ("in_layers.2.", "conv1."), ("emb_layers.1.", "time_emb_proj."),
        ("out_layers.0.", "norm2."), ("out_layers.3.", "conv2."), ("skip_connection.", "conv_shortcut."),
    ];

    private static readonly Dictionary<string, string> Fixed = new(StringComparer.Ordinal)
    {
        ["time_embed.0."] = "time_embedding.linear_1.",
        ["time_embed.2."] = "time_embedding.linear_2.",
        ["input_blocks.0.0."] = "conv_in.",
        ["out.0."] = "conv_norm_out.",
        ["out.2."] = "conv_out.",
    };

    // input_blocks.n (n ≥ 1) → (down block, index in block, is downsampler); output_blocks.n → (up block, index).
    private readonly List<(int Block, int Layer, bool Downsampler)> inputBlocks = [];
    private readonly List<(int Block, int Layer)> outputBlocks = [];
    private readonly string? labelEmbedding;

    /// <param name="layersPerBlock">diffusers' layers_per_block, one per down block.</param>
    /// <param name="labelEmbedding"><c>add_embedding</c> (SDXL text_time), <c>class_embedding</c> (projection) or null (none).</param>
    public UnetKeyMap(IReadOnlyList<int> layersPerBlock, string? labelEmbedding)
    {
        this.labelEmbedding = labelEmbedding;
        for (var b = 0; b < layersPerBlock.Count; b++)
        {
            for (var l = 0; l < layersPerBlock[b]; l++) inputBlocks.Add((b, l, false));
            if (b < layersPerBlock.Count - 1) inputBlocks.Add((b, layersPerBlock[b], true));
        }
        for (var u = 0; u < layersPerBlock.Count; u++)
            for (var l = 0; l < layersPerBlock[layersPerBlock.Count - 1 - u] + 1; l++) outputBlocks.Add((u, l));
    }

    /// <summary>The map for a diffusers UNet <c>config.json</c> (read as JSON, so configs with newer keys are accepted here).</summary>
    public static UnetKeyMap FromConfigJson(string json, string source)
    {
        var c = ConfigJson.Parse(json, source);
        var blocks = c.Strings("down_block_types", ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"]).Length;
        var label = c.String("addition_embed_type", null) == "text_time" ? "add_embedding"
            : c.String("class_embed_type", null) is "projection" or "timestep" ? "class_embedding" : null;
        return new UnetKeyMap(c.IntPerBlock("layers_per_block", 2, blocks), label);
    }

    /// <summary>The diffusers key for an LDM key (prefix removed), or null when the key is not part of the UNet as diffusers builds it.</summary>
    public string? ToDiffusers(string key)
    {
        foreach (var (ldm, diffusers) in Fixed)
            if (key.StartsWith(ldm, StringComparison.Ordinal)) return diffusers + key[ldm.Length..];
        if (key.StartsWith("label_emb.0.", StringComparison.Ordinal) && labelEmbedding is not null)
        {
            var label = key["label_emb.0.".Length..];
            if (label.StartsWith("0.", StringComparison.Ordinal)) return $"{labelEmbedding}.linear_1.{label[2..]}";
            if (label.StartsWith("2.", StringComparison.Ordinal)) return $"{labelEmbedding}.linear_2.{label[2..]}";
            return null;
        }
        if (Split(key, "input_blocks.") is (var n, var part, var rest) && n >= 1 && n <= inputBlocks.Count)
        {
            var (block, layer, downsampler) = inputBlocks[n - 1];
            if (downsampler)
                return part == 0 && rest.StartsWith("op.", StringComparison.Ordinal) ? $"down_blocks.{block}.downsamplers.0.conv.{rest[3..]}" : null;
            return part switch
            {
                0 => Resnet(rest) is { } r ? $"down_blocks.{block}.resnets.{layer}.{r}" : null,
                1 => $"down_blocks.{block}.attentions.{layer}.{rest}",
                _ => null,
            };
        }
        if (key.StartsWith("middle_block.", StringComparison.Ordinal))
        {
            var segments = key["middle_block.".Length..].Split('.', 2);
            if (segments.Length < 2) return null;
            var tail = segments[1];
            return segments[0] switch
            {
                "0" => Resnet(tail) is { } r0 ? $"mid_block.resnets.0.{r0}" : null,
                "1" => $"mid_block.attentions.0.{tail}",
                "2" => Resnet(tail) is { } r2 ? $"mid_block.resnets.1.{r2}" : null,
                _ => null,
            };
        }
        if (Split(key, "output_blocks.") is (var o, var opart, var orest) && o >= 0 && o < outputBlocks.Count)
        {
            var (block, layer) = outputBlocks[o];
            if (opart is 1 or 2 && orest.StartsWith("conv.", StringComparison.Ordinal)) return $"up_blocks.{block}.upsamplers.0.conv.{orest[5..]}";
            return opart switch
            {
                0 => Resnet(orest) is { } r ? $"up_blocks.{block}.resnets.{layer}.{r}" : null,
                1 => $"up_blocks.{block}.attentions.{layer}.{orest}",
                _ => null,
            };
        }
        return null;
    }

    private static string? Resnet(string rest)
    {
        foreach (var (ldm, diffusers) in ResnetParts)
            if (rest.StartsWith(ldm, StringComparison.Ordinal)) return diffusers + rest[ldm.Length..];
        return null;
    }

    /// <summary><c>{prefix}{n}.{part}.{rest}</c> → (n, part, rest), or null when the key does not have that form.</summary>
    private static (int N, int Part, string Tail)? Split(string key, string prefix)
    {
        if (!key.StartsWith(prefix, StringComparison.Ordinal)) return null;
        var segments = key[prefix.Length..].Split('.', 3);
        if (segments.Length < 3 || !int.TryParse(segments[0], out var n) || !int.TryParse(segments[1], out var part)) return null;
        return (n, part, segments[2]);
    }
}

namespace Farm.Diffusion.Models.Loading;

/// <summary>
/// CompVis/LDM AutoencoderKL names (<c>first_stage_model.*</c>, prefix removed) to diffusers' AutoencoderKL names.
/// The decoder's <c>up.i</c> run from the lowest resolution upwards in diffusers but are stored in encoder order, so
/// diffusers' <c>up_blocks.0</c> is LDM's <c>up.{n-1}</c>. The mid-block attention's q, k, v and proj_out are 1×1
/// convolutions in LDM and Linear layers in diffusers (<see cref="TensorOpKind.ConvToLinear"/>).
/// </summary>
internal sealed class VaeKeyMap(int blocks)
{
    private static readonly Dictionary<string, string> Attention = new(StringComparer.Ordinal)
    {
        ["norm."] = "group_norm.", ["q."] = "to_q.", ["k."] = "to_k.", ["v."] = "to_v.", ["proj_out."] = "to_out.0.",
    };

    /// <summary>The diffusers key and op for an LDM key (prefix removed), or null when diffusers' AutoencoderKL has no such tensor.</summary>
    public (string Key, TensorOp Op)? ToDiffusers(string key)
    {
        if (key.StartsWith("quant_conv.", StringComparison.Ordinal) || key.StartsWith("post_quant_conv.", StringComparison.Ordinal))
            return (key, TensorOp.Copy);
        var dot = key.IndexOf('.');
        if (dot < 0) return null;
        var coder = key[..dot];
        if (coder is not ("encoder" or "decoder")) return null;
        var rest = key[(dot + 1)..];
        string? mapped = rest switch
        {
            _ when rest.StartsWith("conv_in.", StringComparison.Ordinal) || rest.StartsWith("conv_out.", StringComparison.Ordinal) => rest,
            _ when rest.StartsWith("norm_out.", StringComparison.Ordinal) => "conv_norm_out." + rest["norm_out.".Length..],
            _ when rest.StartsWith("mid.block_1.", StringComparison.Ordinal) => Resnet("mid_block.resnets.0.", rest["mid.block_1.".Length..]),
            _ when rest.StartsWith("mid.block_2.", StringComparison.Ordinal) => Resnet("mid_block.resnets.1.", rest["mid.block_2.".Length..]),
            _ when rest.StartsWith("mid.attn_1.", StringComparison.Ordinal) => MidAttention(rest["mid.attn_1.".Length..]),
            _ when coder == "encoder" && rest.StartsWith("down.", StringComparison.Ordinal) => Level(rest["down.".Length..], "down_blocks", "downsample", "downsamplers", reverse: false),
            _ when coder == "decoder" && rest.StartsWith("up.", StringComparison.Ordinal) => Level(rest["up.".Length..], "up_blocks", "upsample", "upsamplers", reverse: true),
            _ => null,
        };
        if (mapped is null) return null;
        var op = rest.StartsWith("mid.attn_1.", StringComparison.Ordinal) && rest.EndsWith(".weight", StringComparison.Ordinal) && !rest.StartsWith("mid.attn_1.norm.", StringComparison.Ordinal)
            ? TensorOp.ConvToLinear : TensorOp.Copy;
        return ($"{coder}.{mapped}", op);
    }

    private string? Level(string rest, string blocksName, string samplerLdm, string samplerDiffusers, bool reverse)
    {
        var segments = rest.Split('.', 2);
        if (segments.Length < 2 || !int.TryParse(segments[0], out var level) || level < 0 || level >= blocks) return null;
        var index = reverse ? blocks - 1 - level : level;
        var tail = segments[1];
        if (tail.StartsWith(samplerLdm + ".conv.", StringComparison.Ordinal))
            return $"{blocksName}.{index}.{samplerDiffusers}.0.conv.{tail[(samplerLdm.Length + 6)..]}";
        if (!tail.StartsWith("block.", StringComparison.Ordinal)) return null;
        var inner = tail["block.".Length..].Split('.', 2);
        if (inner.Length < 2 || !int.TryParse(inner[0], out var resnet)) return null;
        return Resnet($"{blocksName}.{index}.resnets.{resnet}.", inner[1]);
    }

    private static string? Resnet(string prefix, string rest) => rest.Split('.')[0] switch
    {
        "norm1" or "conv1" or "norm2" or "conv2" => prefix + rest,
        "nin_shortcut" => prefix + "conv_shortcut." + rest["nin_shortcut.".Length..],
        _ => null,
    };

    private static string? MidAttention(string rest)
    {
        foreach (var (ldm, diffusers) in Attention)
            if (rest.StartsWith(ldm, StringComparison.Ordinal)) return "mid_block.attentions.0." + diffusers + rest[ldm.Length..];
        return null;
    }
}

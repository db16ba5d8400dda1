using System.Text.RegularExpressions;
using Farm.Diffusion.Models.Loading;
using Farm.Diffusion.Models.Unet;

namespace Farm.Diffusion.Adapters;

/// <summary>
/// kohya UNet module names in the LDM/SGM spelling, as sd-scripts writes them for SDXL
/// (<c>input_blocks_4_1_transformer_blocks_0_attn1_to_k</c>), turned into the kohya spelling of the diffusers path
/// (<c>down_blocks_1_attentions_0_transformer_blocks_0_attn1_to_k</c>) through the checkpoint key map. Only the
/// block numbers and the resnet layer names are read; the rest stays kohya-spelt and is matched against the model's
/// own paths by <see cref="LoraTargetIndex"/>.
/// </summary>
internal static partial class LdmLoraNames
{
    public static Func<string, string?> For(UNet2DConditionConfig config)
    {
        var map = new UnetKeyMap(config.LayersPerBlock, config.AdditionEmbedType == "text_time" ? "add_embedding" : null);
        return name => ToDiffusersKohya(name, map);
    }

    private static string? ToDiffusersKohya(string name, UnetKeyMap map)
    {
        var ldm = Numbered().Match(name) is { Success: true } n ? $"{n.Groups[1]}.{n.Groups[2]}.{n.Groups[3]}.{Tail(n.Groups[4].Value)}"
            : Middle().Match(name) is { Success: true } m ? $"middle_block.{m.Groups[1]}.{Tail(m.Groups[2].Value)}"
            : Single().Match(name) is { Success: true } s ? $"{s.Groups[1]}.{s.Groups[2]}"
            : Label().Match(name) is { Success: true } l ? $"label_emb.0.{l.Groups[1]}"
            : null;
        var diffusers = ldm is null ? null : map.ToDiffusers(ldm + ".weight");
        return diffusers?[..^".weight".Length].Replace('.', '_');
    }

    private static string Tail(string tail) => ResnetLayer().Match(tail) is { Success: true } r ? $"{r.Groups[1]}.{r.Groups[2]}" : tail;

    [GeneratedRegex(@"^(input_blocks|output_blocks)_(\d+)_(\d+)_(.+)$")]
    private static partial Regex Numbered();

    [GeneratedRegex(@"^middle_block_(\d+)_(.+)$")]
    private static partial Regex Middle();

    [GeneratedRegex(@"^(time_embed|out)_(\d+)$")]
    private static partial Regex Single();

    [GeneratedRegex(@"^label_emb_0_(\d+)$")]
    private static partial Regex Label();

    [GeneratedRegex(@"^(in_layers|out_layers|emb_layers)_(\d+)$")]
    private static partial Regex ResnetLayer();
}

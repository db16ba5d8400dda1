namespace Farm.Diffusion.Adapters;

internal enum LoraNaming
{
    /// <summary>kohya / A1111: the module path with '.' replaced by '_' (<c>lora_unet_down_blocks_0_…_to_q</c>).</summary>
    Kohya,
    /// <summary>diffusers / PEFT: the dotted module path (<c>unet.down_blocks.0.….to_q</c>).</summary>
    Diffusers,
}

internal enum LoraPart
{
    /// <summary>The [rank, in] matrix applied first (kohya <c>lora_down</c>, diffusers <c>down</c>, PEFT <c>lora_A</c>).</summary>
    Down,
    /// <summary>The [out, rank] matrix (kohya <c>lora_up</c>, diffusers <c>up</c>, PEFT <c>lora_B</c>).</summary>
    Up,
    /// <summary>kohya's per-module 0-dim alpha.</summary>
    Alpha,
}

/// <summary>One tensor name of a LoRA file split into component, module name (as the file spells it) and part.</summary>
internal sealed record LoraKey(LoraComponent Component, LoraNaming Naming, string ModuleName, LoraPart Part)
{
    private static readonly (string Prefix, LoraComponent Component)[] KohyaPrefixes =
    [
        ("lora_unet_", LoraComponent.Unet),
        ("lora_te1_", LoraComponent.TextEncoder),
        ("lora_te2_", LoraComponent.TextEncoder2),
        ("lora_te_", LoraComponent.TextEncoder),
    ];

    private static readonly (string Suffix, LoraPart Part)[] KohyaSuffixes =
    [
        (".lora_down.weight", LoraPart.Down),
        (".lora_up.weight", LoraPart.Up),
        (".alpha", LoraPart.Alpha),
    ];

    // diffusers 0.27.2 + PEFT 0.10 write three styles into one file: UNet `.lora.down/up`, text-encoder attention
    // `.lora_linear_layer.down/up`, text-encoder MLP PEFT names `.lora_A/B`. All are accepted for every component.
    private static readonly (string Prefix, LoraComponent Component)[] DiffusersPrefixes =
    [
        ("unet.", LoraComponent.Unet),
        ("text_encoder.", LoraComponent.TextEncoder),
        ("text_encoder_2.", LoraComponent.TextEncoder2),
    ];

    private static readonly (string Suffix, LoraPart Part)[] DiffusersSuffixes =
    [
        (".lora.down.weight", LoraPart.Down),
        (".lora.up.weight", LoraPart.Up),
        (".lora_linear_layer.down.weight", LoraPart.Down),
        (".lora_linear_layer.up.weight", LoraPart.Up),
        (".lora_A.weight", LoraPart.Down),
        (".lora_B.weight", LoraPart.Up),
        (".alpha", LoraPart.Alpha),
    ];

    /// <summary>The parsed key, or null when the name follows neither format.</summary>
    public static LoraKey? Parse(string key) =>
        Parse(key, KohyaPrefixes, KohyaSuffixes, LoraNaming.Kohya)
        ?? Parse(key, DiffusersPrefixes, DiffusersSuffixes, LoraNaming.Diffusers);

    private static LoraKey? Parse(string key, (string, LoraComponent)[] prefixes, (string, LoraPart)[] suffixes, LoraNaming naming)
    {
        foreach (var (prefix, component) in prefixes)
        {
            if (!key.StartsWith(prefix, StringComparison.Ordinal)) continue;
            foreach (var (suffix, part) in suffixes)
            {
                if (!key.EndsWith(suffix, StringComparison.Ordinal) || key.Length <= prefix.Length + suffix.Length) continue;
                return new LoraKey(component, naming, key[prefix.Length..^suffix.Length], part);
            }
            return null;
        }
        return null;
    }
}

namespace Farm.Diffusion.Models.Loading;

/// <summary>
/// SD 1.x's FrozenCLIPEmbedder and SDXL's first embedder wrap a transformers CLIPTextModel: below their prefix
/// the keys are already Hugging Face names. <c>text_model.embeddings.position_ids</c> is a buffer, not a weight.
/// </summary>
internal static class HfClipKeyMap
{
    public static string? ToDiffusers(string key) => key.EndsWith("position_ids", StringComparison.Ordinal) ? null : key;
}

/// <summary>
/// OpenCLIP text towers (SD 2.x <c>cond_stage_model.model.*</c>, SDXL <c>conditioner.embedders.1.model.*</c>,
/// prefix removed) to transformers' CLIPTextModel(WithProjection) names, as diffusers 0.27.2's
/// <c>create_text_encoder_from_open_clip_checkpoint</c>: the fused <c>attn.in_proj_weight/bias</c> are split in
/// thirds (q, k, v), <c>text_projection</c> is transposed, <c>logit_scale</c> (a CLIP training scalar) is dropped.
/// </summary>
internal sealed class OpenClipKeyMap
{
    private static readonly (string OpenClip, string Hf)[] LayerParts =
    [
        ("ln_1.", "layer_norm1."), ("ln_2.", "layer_norm2."), ("mlp.c_fc.", "mlp.fc1."), ("mlp.c_proj.", "mlp.fc2."),
        ("attn.out_proj.", "self_attn.out_proj."),
    ];

    private readonly int? layers;
    private readonly bool projection;

    /// <param name="layers">
    /// When set (SD 2.x), resblocks with this index or above are dropped: diffusers' SD 2 text encoder has one layer
    /// fewer than the OpenCLIP tower (23 of 24: SD 2 uses the penultimate layer's output), and diffusers 0.27.2 ignores
    /// <c>resblocks.23</c> and <c>text_projection</c> (SD_2_TEXT_ENCODER_KEYS_TO_IGNORE). Generalised here to "the
    /// blocks beyond the config's num_hidden_layers", so other widths/depths convert the same way.
    /// </param>
    /// <param name="projection">True for CLIPTextModelWithProjection (SDXL): <c>text_projection</c> is kept.</param>
    public OpenClipKeyMap(int? layers, bool projection)
    {
        this.layers = layers;
        this.projection = projection;
    }

    /// <summary>The diffusers keys and ops made from one OpenCLIP key (three for a fused q/k/v), empty when the key is dropped, null when unknown.</summary>
    public IReadOnlyList<(string Key, TensorOp Op)>? ToDiffusers(string key)
    {
        switch (key)
        {
            case "token_embedding.weight": return [("text_model.embeddings.token_embedding.weight", TensorOp.Copy)];
            case "positional_embedding": return [("text_model.embeddings.position_embedding.weight", TensorOp.Copy)];
            case "ln_final.weight": return [("text_model.final_layer_norm.weight", TensorOp.Copy)];
            case "ln_final.bias": return [("text_model.final_layer_norm.bias", TensorOp.Copy)];
            case "text_projection": return projection ? [("text_projection.weight", TensorOp.Transpose)] : [];
            case "logit_scale": return [];
        }
        const string blocks = "transformer.resblocks.";
        if (!key.StartsWith(blocks, StringComparison.Ordinal)) return null;
        var segments = key[blocks.Length..].Split('.', 2);
        if (segments.Length < 2 || !int.TryParse(segments[0], out var index)) return null;
        if (layers is { } count && index >= count) return [];
        var layer = $"text_model.encoder.layers.{index}.";
        var rest = segments[1];
        if (rest is "attn.in_proj_weight" or "attn.in_proj_bias")
        {
            var kind = rest.EndsWith("weight", StringComparison.Ordinal) ? "weight" : "bias";
            return [($"{layer}self_attn.q_proj.{kind}", TensorOp.Slice(0, 3)), ($"{layer}self_attn.k_proj.{kind}", TensorOp.Slice(1, 3)),
                ($"{layer}self_attn.v_proj.{kind}", TensorOp.Slice(2, 3))];
        }
        foreach (var (openClip, hf) in LayerParts)
            if (rest.StartsWith(openClip, StringComparison.Ordinal)) return [(layer + hf + rest[openClip.Length..], TensorOp.Copy)];
        return null;
    }
}

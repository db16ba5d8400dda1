using Farm.Diffusion.Models.Layers;
using Farm.Diffusion.Torch;

namespace Farm.Diffusion.Models.Clip;

/// <summary>transformers' CLIPTextTransformer (the <c>text_model</c> of CLIPTextModel): embeddings, encoder, final_layer_norm.</summary>
internal sealed class CLIPTextTransformer : Module
{
    private readonly CLIPTextEmbeddings embeddings;
    private readonly CLIPEncoder encoder;
    private readonly LayerNorm finalLayerNorm;

    public CLIPTextTransformer(CLIPTextConfig config)
    {
        embeddings = Child("embeddings", new CLIPTextEmbeddings(config));
        encoder = Child("encoder", new CLIPEncoder(config));
        finalLayerNorm = Child("final_layer_norm", new LayerNorm(config.HiddenSize, config.LayerNormEps));
    }

    public Tensor TokenEmbedding(Tensor inputIds) => embeddings.TokenEmbedding(inputIds);

    /// <summary>
    /// Runs the model on token embeddings [B, L, H] (before position embeddings). <paramref name="clipSkip"/> is
    /// diffusers' <c>clip_skip</c>: the result is <c>final_layer_norm(hidden_states[-(clipSkip + 1)])</c>, so 0 is
    /// the normal last_hidden_state and 1 is A1111's "clip skip 2". Tensors land in the caller's scope.
    /// </summary>
    public (Tensor LastHiddenState, List<Tensor>? HiddenStates) Forward(Tensor inputsEmbeds, int clipSkip, bool outputHiddenStates)
    {
        if (clipSkip < 0 || clipSkip > encoder.LayerCount)
            throw new ArgumentOutOfRangeException(nameof(clipSkip), clipSkip, $"clip skip must be between 0 and {encoder.LayerCount}");
        var length = inputsEmbeds.size(1);
        var mask = CausalMask(length, inputsEmbeds.dtype, inputsEmbeds.device);
        var hidden = embeddings.Forward(inputsEmbeds);
        var states = outputHiddenStates ? new List<Tensor>() : null;
        // Layers after the selected hidden state cannot change it: skip them unless all states are wanted.
        var layersToRun = outputHiddenStates ? encoder.LayerCount : encoder.LayerCount - clipSkip;
        var last = encoder.Forward(hidden, mask, layersToRun, states);
        var selected = states is null ? last : states[encoder.LayerCount - clipSkip];
        return (finalLayerNorm.Forward(selected), states);
    }

    /// <summary>
    /// transformers' <c>_create_4d_causal_attention_mask</c> for one sequence: the dtype's most negative finite value
    /// strictly above the diagonal, 0 elsewhere; broadcast over batch and heads when added.
    /// </summary>
    public static Tensor CausalMask(long length, ScalarType dtype, Device device)
    {
        var above = new byte[length * length];
        for (var i = 0; i < length; i++)
            for (var j = i + 1; j < length; j++)
                above[i * length + j] = 1;
        using var aboveTensor = torch.tensor(above, length, length);
        using var condition = aboveTensor.gt(0).to(device);
        using var min = torch.full([length, length], MinValue(dtype), dtype, device);
        using var zero = torch.zeros([length, length], dtype, device);
        return torch.where(condition, min, zero);
    }

    private static double MinValue(ScalarType dtype) => dtype switch
    {
        ScalarType.Float32 => float.MinValue,
        ScalarType.Float16 => -65504.0,
        ScalarType.BFloat16 => -3.3895313892515355e38,
        ScalarType.Float64 => double.MinValue,
        _ => throw new ArgumentException($"no causal mask for {dtype}"),
    };
}

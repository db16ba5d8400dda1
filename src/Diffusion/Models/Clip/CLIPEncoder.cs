using Farm.Diffusion.Torch;

namespace Farm.Diffusion.Models.Clip;

/// <summary>The stack of encoder layers.</summary>
internal sealed class CLIPEncoder : Module
{
    private readonly IReadOnlyList<CLIPEncoderLayer> layers;

    public CLIPEncoder(CLIPTextConfig config) =>
        layers = Children("layers", Enumerable.Range(0, config.NumHiddenLayers).Select(_ => new CLIPEncoderLayer(config)));

    public int LayerCount => layers.Count;

    /// <summary>
    /// Runs the first <paramref name="layerCount"/> layers. When <paramref name="hiddenStates"/> is given it
    /// receives the input and every layer output (transformers' <c>output_hidden_states</c>), owned by the caller's scope.
    /// </summary>
    public Tensor Forward(Tensor inputsEmbeds, Tensor causalMask, int layerCount, List<Tensor>? hiddenStates = null)
    {
        var h = inputsEmbeds;
        hiddenStates?.Add(h);
        for (var i = 0; i < layerCount; i++)
        {
            h = layers[i].Forward(h, causalMask);
            hiddenStates?.Add(h);
        }
        return h;
    }
}

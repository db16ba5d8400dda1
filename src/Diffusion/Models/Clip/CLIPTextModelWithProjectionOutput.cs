using Farm.Diffusion.Torch;

namespace Farm.Diffusion.Models.Clip;

/// <summary>
/// What CLIPTextModelWithProjection returns: <see cref="TextEmbeds"/> [B, projection_dim], <see cref="LastHiddenState"/>
/// [B, L, H] (after final_layer_norm) and <see cref="HiddenStates"/> (the embeddings output and every layer output,
/// before final_layer_norm). The caller owns the tensors (or its scope does).
/// </summary>
internal sealed class CLIPTextModelWithProjectionOutput : IDisposable
{
    private CLIPTextModelWithProjectionOutput(Tensor textEmbeds, Tensor lastHiddenState, IReadOnlyList<Tensor> hiddenStates)
    {
        TextEmbeds = textEmbeds;
        LastHiddenState = lastHiddenState;
        HiddenStates = hiddenStates;
    }

    public Tensor TextEmbeds { get; }

    public Tensor LastHiddenState { get; }

    public IReadOnlyList<Tensor> HiddenStates { get; }

    internal static CLIPTextModelWithProjectionOutput Leave(DisposeScope scope, Tensor textEmbeds, Tensor last, List<Tensor> states)
    {
        scope.MoveToOuter(textEmbeds);
        scope.MoveToOuter(last);
        foreach (var s in states) scope.MoveToOuter(s);
        return new CLIPTextModelWithProjectionOutput(textEmbeds, last, states);
    }

    public void Dispose()
    {
        TextEmbeds.Dispose();
        LastHiddenState.Dispose();
        foreach (var s in HiddenStates) s.Dispose();
    }
}

using Farm.Diffusion.Torch;

namespace Farm.Diffusion.Models.Clip;

/// <summary>
/// What CLIPTextModel returns. <see cref="LastHiddenState"/> [B, L, H] is SD's encoder_hidden_states (after
/// final_layer_norm; with clip skip, of the selected layer). <see cref="HiddenStates"/> (when asked for) holds the
/// embeddings output and every layer output, before final_layer_norm. The caller owns the tensors (or its scope does).
/// </summary>
internal sealed class CLIPTextModelOutput : IDisposable
{
    private CLIPTextModelOutput(Tensor lastHiddenState, Tensor? poolerOutput, IReadOnlyList<Tensor>? hiddenStates)
    {
        LastHiddenState = lastHiddenState;
        PoolerOutput = poolerOutput;
        HiddenStates = hiddenStates;
    }

    public Tensor LastHiddenState { get; }

    /// <summary>[B, H]: last_hidden_state at the eos row; null from inputs_embeds. SD does not use it.</summary>
    public Tensor? PoolerOutput { get; }

    public IReadOnlyList<Tensor>? HiddenStates { get; }

    internal static CLIPTextModelOutput Leave(DisposeScope scope, Tensor last, Tensor? pooled, List<Tensor>? states)
    {
        // A tensor may appear twice (a hidden state returned as is); move each once.
        var moved = new HashSet<Tensor>(ReferenceEqualityComparer.Instance);
        void Move(Tensor t)
        {
            if (moved.Add(t)) scope.MoveToOuter(t);
        }
        Move(last);
        if (pooled is not null) Move(pooled);
        if (states is not null) foreach (var s in states) Move(s);
        return new CLIPTextModelOutput(last, pooled, states);
    }

    public void Dispose()
    {
        var disposed = new HashSet<Tensor>(ReferenceEqualityComparer.Instance);
        foreach (var t in new[] { LastHiddenState, PoolerOutput }.Concat(HiddenStates ?? []))
            if (t is not null && disposed.Add(t)) t.Dispose();
    }
}

using Farm.Diffusion.Models.Layers;
using Farm.Diffusion.Torch;
using F = Farm.Diffusion.Torch.torch.nn.functional;

namespace Farm.Diffusion.Models.Clip;

/// <summary>
/// transformers' CLIPAttention with its own op order (not diffusers' attention processor): q is scaled
/// right after the projection, scores = bmm(q, kᵀ), the causal mask is added on a [B, heads, L, L] view,
/// softmax, bmm with v, then out_proj. Reproducing this order keeps the result bit-identical.
/// </summary>
internal sealed class CLIPAttention : Module
{
    private readonly Linear qProj;
    private readonly Linear kProj;
    private readonly Linear vProj;
    private readonly Linear outProj;
    private readonly long heads;
    private readonly long headDim;
    private readonly double scale;

    public CLIPAttention(CLIPTextConfig config)
    {
        heads = config.NumAttentionHeads;
        headDim = config.HeadDim;
        // Python: self.scale = self.head_dim ** -0.5 (a double, applied to float32 as a scalar).
        scale = Math.Pow(headDim, -0.5);
        kProj = Child("k_proj", new Linear(config.HiddenSize, config.HiddenSize));
        vProj = Child("v_proj", new Linear(config.HiddenSize, config.HiddenSize));
        qProj = Child("q_proj", new Linear(config.HiddenSize, config.HiddenSize));
        outProj = Child("out_proj", new Linear(config.HiddenSize, config.HiddenSize));
    }

    /// <param name="hiddenStates">[B, L, H]</param>
    /// <param name="causalMask">[L, L] additive mask (0 on and below the diagonal, float32 min above).</param>
    public Tensor Forward(Tensor hiddenStates, Tensor causalMask)
    {
        using var scope = torch.NewDisposeScope();
        var batch = hiddenStates.size(0);
        var length = hiddenStates.size(1);
        var embed = hiddenStates.size(2);

        var query = Heads(qProj.Forward(hiddenStates) * scale, batch);
        var key = Heads(kProj.Forward(hiddenStates), batch);
        var value = Heads(vProj.Forward(hiddenStates), batch);

        var weights = F.bmm(query, key.transpose(1, 2));
        weights = (weights.view(batch, heads, length, length) + causalMask).view(batch * heads, length, length);
        weights = F.softmax(weights, -1);
        var output = F.bmm(weights, value);

        output = output.view(batch, heads, length, headDim).transpose(1, 2).reshape(batch, length, embed);
        return scope.MoveToOuter(outProj.Forward(output));
    }

    // _shape: view(B, L, heads, head_dim).transpose(1, 2).contiguous(), then view(B·heads, L, head_dim).
    private Tensor Heads(Tensor x, long batch) =>
        x.view(batch, -1, heads, headDim).transpose(1, 2).contiguous().view(batch * heads, -1, headDim);
}

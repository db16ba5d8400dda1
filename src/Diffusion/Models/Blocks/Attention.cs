using Farm.Diffusion.Models.Layers;
using Farm.Diffusion.Torch;
using F = Farm.Diffusion.Torch.torch.nn.functional;

namespace Farm.Diffusion.Models.Blocks;

/// <summary>
/// diffusers' Attention with the classic AttnProcessor (what diffusers 0.27 runs on torch 1.13): q/k/v projections,
/// heads folded into the batch, softmax(q·kᵀ·scale)·v, output projection. The VAE's variant (group_norm, biases,
/// residual) takes an NCHW map; the transformer's takes [batch, tokens, channels].
/// </summary>
internal sealed class Attention : Module
{
    private readonly GroupNorm? groupNorm;
    private readonly Linear toQ;
    private readonly Linear toK;
    private readonly Linear toV;
    private readonly Linear toOut;
    private readonly long heads;
    private readonly double scale;
    private readonly bool upcastAttention;
    private readonly bool residualConnection;

    /// <param name="crossAttentionDim">Width of the encoder hidden states, or null for self-attention.</param>
    /// <param name="normGroups">Groups of the GroupNorm applied to the input first (the VAE), or null for none.</param>
    public Attention(
        long queryDim,
        long? crossAttentionDim,
        long heads,
        long dimHead,
        bool bias,
        bool upcastAttention = false,
        long? normGroups = null,
        double normEps = 1e-5,
        bool residualConnection = false)
    {
        var innerDim = heads * dimHead;
        this.heads = heads;
        scale = Math.Pow(dimHead, -0.5);
        this.upcastAttention = upcastAttention;
        this.residualConnection = residualConnection;
        if (normGroups is { } groups) groupNorm = Child("group_norm", new GroupNorm(groups, queryDim, normEps));
        toQ = Child("to_q", new Linear(queryDim, innerDim, bias));
        toK = Child("to_k", new Linear(crossAttentionDim ?? queryDim, innerDim, bias));
        toV = Child("to_v", new Linear(crossAttentionDim ?? queryDim, innerDim, bias));
        toOut = Child("to_out.0", new Linear(innerDim, queryDim));
    }

    /// <param name="hiddenStates">[B, L, C], or [B, C, H, W] (attended as H·W tokens and returned as NCHW).</param>
    /// <param name="encoderHiddenStates">[B, S, cross_attention_dim] for cross-attention, or null.</param>
    public Tensor Forward(Tensor hiddenStates, Tensor? encoderHiddenStates = null)
    {
        using var scope = torch.NewDisposeScope();
        var spatial = hiddenStates.dim() == 4;
        long batch = hiddenStates.size(0), channels = hiddenStates.size(1), height = 0, width = 0;
        var x = hiddenStates;
        if (spatial)
        {
            height = hiddenStates.size(2);
            width = hiddenStates.size(3);
            // Same shapes as diffusers (view → transpose, group_norm over [B, C, HW]); reshape, not view, because a
            // CPU conv hands over channels-last maps (ft_nn_conv2d), which this copies to plain layout first.
            x = hiddenStates.reshape(batch, channels, height * width);
            x = groupNorm is null ? x.transpose(1, 2) : groupNorm.Forward(x).transpose(1, 2);
        }
        else if (groupNorm is not null)
        {
            x = groupNorm.Forward(x.transpose(1, 2)).transpose(1, 2);
        }

        var context = encoderHiddenStates ?? x;
        var q = HeadToBatch(toQ.Forward(x));
        var k = HeadToBatch(toK.Forward(context));
        var v = HeadToBatch(toV.Forward(context));
        var h = toOut.Forward(BatchToHead(Attend(q, k, v)));

        if (spatial) h = h.transpose(-1, -2).reshape(batch, channels, height, width);
        if (residualConnection) h.add_(hiddenStates);
        // rescale_output_factor is 1 for every block Farm builds; x / 1.0 is exact, so it is skipped.
        return scope.MoveToOuter(h);
    }

    private Tensor Attend(Tensor q, Tensor k, Tensor v)
    {
        if (!upcastAttention || q.dtype == ScalarType.Float32) return F.scaled_dot_product_attention(q, k, v, scale);
        // upcast_attention (SD2.1 in half precision): scores from float32 q and k, probabilities back in v's dtype.
        var scores = F.bmm(q.to(ScalarType.Float32), k.to(ScalarType.Float32).transpose(1, 2)) * scale;
        return F.bmm(F.softmax(scores, -1).to(v.dtype), v);
    }

    // [B, L, H·D] → [B·H, L, D]
    private Tensor HeadToBatch(Tensor t)
    {
        long b = t.size(0), l = t.size(1), d = t.size(2) / heads;
        return t.reshape(b, l, heads, d).permute(0, 2, 1, 3).reshape(b * heads, l, d);
    }

    // [B·H, L, D] → [B, L, H·D]
    private Tensor BatchToHead(Tensor t)
    {
        long b = t.size(0) / heads, l = t.size(1), d = t.size(2);
        return t.reshape(b, heads, l, d).permute(0, 2, 1, 3).reshape(b, l, d * heads);
    }
}

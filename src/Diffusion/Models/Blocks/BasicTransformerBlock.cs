using Farm.Diffusion.Models.Layers;
using Farm.Diffusion.Torch;

namespace Farm.Diffusion.Models.Blocks;

/// <summary>Pre-norm transformer layer: self-attention, cross-attention, GEGLU feed-forward, each with a residual (layer_norm, eps 1e-5).</summary>
internal sealed class BasicTransformerBlock : Module
{
    private readonly LayerNorm norm1;
    private readonly Attention attn1;
    private readonly LayerNorm norm2;
    private readonly Attention attn2;
    private readonly LayerNorm norm3;
    private readonly FeedForward ff;
    private readonly bool onlyCrossAttention;

    public BasicTransformerBlock(long dim, long heads, long headDim, long crossAttentionDim, bool onlyCrossAttention, bool upcastAttention)
    {
        this.onlyCrossAttention = onlyCrossAttention;
        norm1 = Child("norm1", new LayerNorm(dim));
        attn1 = Child("attn1", new Attention(dim, onlyCrossAttention ? crossAttentionDim : null, heads, headDim, bias: false, upcastAttention));
        norm2 = Child("norm2", new LayerNorm(dim));
        attn2 = Child("attn2", new Attention(dim, crossAttentionDim, heads, headDim, bias: false, upcastAttention));
        norm3 = Child("norm3", new LayerNorm(dim));
        ff = Child("ff", new FeedForward(dim));
    }

    /// <param name="x">[B, L, dim], contiguous.</param>
    public Tensor Forward(Tensor x, Tensor encoderHiddenStates)
    {
        using var scope = torch.NewDisposeScope();
        var h = attn1.Forward(norm1.Forward(x), onlyCrossAttention ? encoderHiddenStates : null).add_(x);
        h = attn2.Forward(norm2.Forward(h), encoderHiddenStates).add_(h);
        h = ff.Forward(norm3.Forward(h)).add_(h);
        return scope.MoveToOuter(h);
    }
}

using Farm.Diffusion.Models.Layers;
using Farm.Diffusion.Torch;

namespace Farm.Diffusion.Models.Blocks;

/// <summary>
/// diffusers' Transformer2DModel for continuous (NCHW) input: GroupNorm (eps 1e-6), proj_in (1×1 conv, or linear
/// after flattening when use_linear_projection, as SD2), transformer layers over the H·W tokens, proj_out, residual.
/// </summary>
internal sealed class Transformer2DModel : Module
{
    private readonly GroupNorm norm;
    private readonly Conv2d? projInConv;
    private readonly Linear? projInLinear;
    private readonly IReadOnlyList<BasicTransformerBlock> transformerBlocks;
    private readonly Conv2d? projOutConv;
    private readonly Linear? projOutLinear;

    public Transformer2DModel(
        long heads,
        long headDim,
        long inChannels,
        int layers,
        long crossAttentionDim,
        long groups,
        bool useLinearProjection,
        bool onlyCrossAttention,
        bool upcastAttention)
    {
        var inner = heads * headDim;
        norm = Child("norm", new GroupNorm(groups, inChannels, 1e-6));
        if (useLinearProjection) projInLinear = Child("proj_in", new Linear(inChannels, inner));
        else projInConv = Child("proj_in", new Conv2d(inChannels, inner, 1));
        transformerBlocks = Children("transformer_blocks", Enumerable.Range(0, layers)
            .Select(_ => new BasicTransformerBlock(inner, heads, headDim, crossAttentionDim, onlyCrossAttention, upcastAttention)));
        if (useLinearProjection) projOutLinear = Child("proj_out", new Linear(inner, inChannels));
        else projOutConv = Child("proj_out", new Conv2d(inner, inChannels, 1));
    }

    public Tensor Forward(Tensor x, Tensor encoderHiddenStates)
    {
        using var scope = torch.NewDisposeScope();
        long batch = x.size(0), channels = x.size(1), height = x.size(2), width = x.size(3);
        var h = norm.Forward(x);
        // One NCHW → [B, H·W, C] copy on the way in and one back, exactly where diffusers makes them.
        if (projInConv is not null)
        {
            h = projInConv.Forward(h);
            h = h.permute(0, 2, 3, 1).reshape(batch, height * width, h.size(1));
        }
        else
        {
            h = projInLinear!.Forward(h.permute(0, 2, 3, 1).reshape(batch, height * width, channels));
        }

        foreach (var block in transformerBlocks)
        {
            var next = block.Forward(h, encoderHiddenStates);
            h.Dispose();
            h = next;
        }

        if (projOutConv is not null)
        {
            h = projOutConv.Forward(h.reshape(batch, height, width, h.size(2)).permute(0, 3, 1, 2).contiguous());
        }
        else
        {
            h = projOutLinear!.Forward(h);
            h = h.reshape(batch, height, width, channels).permute(0, 3, 1, 2).contiguous();
        }
        return scope.MoveToOuter(h.add_(x));
    }
}

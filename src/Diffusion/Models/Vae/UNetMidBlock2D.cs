using Farm.Diffusion.Models.Blocks;
using Farm.Diffusion.Torch;

namespace Farm.Diffusion.Models.Vae;

/// <summary>
/// The VAE's mid block: resnet, then (self-attention, resnet). The attention is diffusers' converted
/// AttentionBlock: group_norm, biased to_q/to_k/to_v/to_out.0, one head as wide as the channels, residual.
/// </summary>
internal sealed class UNetMidBlock2D : Module
{
    private readonly IReadOnlyList<ResnetBlock2D> resnets;
    private readonly IReadOnlyList<Attention> attentions;

    public UNetMidBlock2D(long inChannels, long groups, double eps, long attentionHeadDim, bool addAttention, int numLayers = 1)
    {
        attentions = addAttention
            ? Children("attentions", Enumerable.Range(0, numLayers).Select(_ => new Attention(
                inChannels, null, inChannels / attentionHeadDim, attentionHeadDim, bias: true,
                normGroups: groups, normEps: eps, residualConnection: true)))
            : [];
        resnets = Children("resnets", Enumerable.Range(0, numLayers + 1).Select(_ => new ResnetBlock2D(inChannels, inChannels, null, groups, eps)));
    }

    public Tensor Forward(Tensor x)
    {
        using var scope = torch.NewDisposeScope();
        var h = resnets[0].Forward(x, null);
        for (var i = 1; i < resnets.Count; i++)
        {
            if (attentions.Count > 0) h = Replace(h, attentions[i - 1].Forward(h), x);
            h = Replace(h, resnets[i].Forward(h, null), x);
        }
        return scope.MoveToOuter(h);
    }
}

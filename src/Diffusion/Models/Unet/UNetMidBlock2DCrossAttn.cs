using Farm.Diffusion.Models.Blocks;
using Farm.Diffusion.Torch;

namespace Farm.Diffusion.Models.Unet;

/// <summary>resnet, then (transformer, resnet) per layer, at the lowest resolution.</summary>
internal sealed class UNetMidBlock2DCrossAttn : Module
{
    private readonly IReadOnlyList<ResnetBlock2D> resnets;
    private readonly IReadOnlyList<Transformer2DModel> attentions;

    public UNetMidBlock2DCrossAttn(
        long inChannels, long tembChannels, int transformerLayers, long groups, double eps, long numAttentionHeads,
        long crossAttentionDim, bool useLinearProjection, bool upcastAttention, int numLayers = 1)
    {
        attentions = Children("attentions", Enumerable.Range(0, numLayers).Select(_ => new Transformer2DModel(
            numAttentionHeads, inChannels / numAttentionHeads, inChannels, transformerLayers, crossAttentionDim, groups,
            useLinearProjection, onlyCrossAttention: false, upcastAttention)));
        resnets = Children("resnets", Enumerable.Range(0, numLayers + 1).Select(_ =>
            new ResnetBlock2D(inChannels, inChannels, tembChannels, groups, eps)));
    }

    public Tensor Forward(Tensor hiddenStates, Tensor temb, Tensor encoderHiddenStates)
    {
        using var scope = torch.NewDisposeScope();
        var h = resnets[0].Forward(hiddenStates, temb);
        for (var i = 0; i < attentions.Count; i++)
            h = resnets[i + 1].Forward(attentions[i].Forward(h, encoderHiddenStates), temb);
        return scope.MoveToOuter(h);
    }
}

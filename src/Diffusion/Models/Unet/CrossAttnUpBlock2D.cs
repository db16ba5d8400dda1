using Farm.Diffusion.Models.Blocks;
using Farm.Diffusion.Torch;

namespace Farm.Diffusion.Models.Unet;

internal sealed class CrossAttnUpBlock2D : UNetUpBlock
{
    private readonly IReadOnlyList<ResnetBlock2D> resnets;
    private readonly IReadOnlyList<Transformer2DModel> attentions;
    private readonly Upsample2D? upsampler;

    public CrossAttnUpBlock2D(UNetBlockSettings s)
    {
        resnets = Children("resnets", Enumerable.Range(0, s.NumLayers).Select(i =>
        {
            var resSkipChannels = i == s.NumLayers - 1 ? s.InChannels : s.OutChannels;
            var resnetInChannels = i == 0 ? s.PrevOutputChannels : s.OutChannels;
            return new ResnetBlock2D(resnetInChannels + resSkipChannels, s.OutChannels, s.TembChannels, s.Groups, s.Eps);
        }));
        attentions = Children("attentions", Enumerable.Range(0, s.NumLayers).Select(_ => new Transformer2DModel(
            s.NumAttentionHeads, s.OutChannels / s.NumAttentionHeads, s.OutChannels, s.TransformerLayers, s.CrossAttentionDim,
            s.Groups, s.UseLinearProjection, s.OnlyCrossAttention, s.UpcastAttention)));
        if (s.AddSample) upsampler = Children("upsamplers", [new Upsample2D(s.OutChannels, s.OutChannels)])[0];
    }

    public override int ResnetCount => resnets.Count;

    public override Tensor Forward(
        Tensor hiddenStates, IReadOnlyList<Tensor> resHiddenStates, Tensor temb, Tensor encoderHiddenStates, (long Height, long Width)? upsampleSize)
    {
        using var scope = torch.NewDisposeScope();
        var h = hiddenStates;
        for (var i = 0; i < resnets.Count; i++)
        {
            var skip = resHiddenStates[resHiddenStates.Count - 1 - i];
            h = attentions[i].Forward(resnets[i].Forward(torch.cat([h, skip], 1), temb), encoderHiddenStates);
        }
        if (upsampler is not null) h = upsampler.Forward(h, upsampleSize);
        return scope.MoveToOuter(h);
    }
}

using Farm.Diffusion.Models.Blocks;
using Farm.Diffusion.Torch;

namespace Farm.Diffusion.Models.Unet;

internal sealed class CrossAttnDownBlock2D : UNetDownBlock
{
    private readonly IReadOnlyList<ResnetBlock2D> resnets;
    private readonly IReadOnlyList<Transformer2DModel> attentions;
    private readonly Downsample2D? downsampler;

    public CrossAttnDownBlock2D(UNetBlockSettings s)
    {
        attentions = Children("attentions", Enumerable.Range(0, s.NumLayers).Select(_ => new Transformer2DModel(
            s.NumAttentionHeads, s.OutChannels / s.NumAttentionHeads, s.OutChannels, s.TransformerLayers, s.CrossAttentionDim,
            s.Groups, s.UseLinearProjection, s.OnlyCrossAttention, s.UpcastAttention)));
        resnets = Children("resnets", Enumerable.Range(0, s.NumLayers).Select(i =>
            new ResnetBlock2D(i == 0 ? s.InChannels : s.OutChannels, s.OutChannels, s.TembChannels, s.Groups, s.Eps)));
        if (s.AddSample) downsampler = Children("downsamplers", [new Downsample2D(s.OutChannels, s.OutChannels, s.DownsamplePadding)])[0];
    }

    public override Tensor Forward(Tensor hiddenStates, Tensor temb, Tensor encoderHiddenStates, List<Tensor> outputStates)
    {
        var h = hiddenStates;
        for (var i = 0; i < resnets.Count; i++)
        {
            using (var scope = torch.NewDisposeScope())
                h = scope.MoveToOuter(attentions[i].Forward(resnets[i].Forward(h, temb), encoderHiddenStates));
            outputStates.Add(h);
        }
        if (downsampler is not null)
        {
            h = downsampler.Forward(h);
            outputStates.Add(h);
        }
        return h;
    }
}

using Farm.Diffusion.Models.Blocks;
using Farm.Diffusion.Torch;

namespace Farm.Diffusion.Models.Unet;

internal sealed class DownBlock2D : UNetDownBlock
{
    private readonly IReadOnlyList<ResnetBlock2D> resnets;
    private readonly Downsample2D? downsampler;

    public DownBlock2D(UNetBlockSettings s)
    {
        resnets = Children("resnets", Enumerable.Range(0, s.NumLayers).Select(i =>
            new ResnetBlock2D(i == 0 ? s.InChannels : s.OutChannels, s.OutChannels, s.TembChannels, s.Groups, s.Eps)));
        if (s.AddSample) downsampler = Children("downsamplers", [new Downsample2D(s.OutChannels, s.OutChannels, s.DownsamplePadding)])[0];
    }

    public override Tensor Forward(Tensor hiddenStates, Tensor temb, Tensor encoderHiddenStates, List<Tensor> outputStates)
    {
        var h = hiddenStates;
        foreach (var resnet in resnets)
        {
            h = resnet.Forward(h, temb);
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

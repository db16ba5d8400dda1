using Farm.Diffusion.Models.Blocks;
using Farm.Diffusion.Torch;

namespace Farm.Diffusion.Models.Vae;

internal sealed class DownEncoderBlock2D : Module
{
    private readonly IReadOnlyList<ResnetBlock2D> resnets;
    private readonly Downsample2D? downsampler;

    public DownEncoderBlock2D(long inChannels, long outChannels, int numLayers, bool addDownsample, long groups, double eps)
    {
        resnets = Children("resnets", Enumerable.Range(0, numLayers).Select(i =>
            new ResnetBlock2D(i == 0 ? inChannels : outChannels, outChannels, null, groups, eps)));
        // padding 0: pad right/bottom by one, then a stride-2 conv without padding.
        if (addDownsample) downsampler = Children("downsamplers", [new Downsample2D(outChannels, outChannels, padding: 0)])[0];
    }

    public Tensor Forward(Tensor x)
    {
        using var scope = torch.NewDisposeScope();
        var h = x;
        foreach (var resnet in resnets) h = Replace(h, resnet.Forward(h, null), x);
        if (downsampler is not null) h = Replace(h, downsampler.Forward(h), x);
        return scope.MoveToOuter(h);
    }
}

using Farm.Diffusion.Models.Blocks;
using Farm.Diffusion.Torch;

namespace Farm.Diffusion.Models.Vae;

internal sealed class UpDecoderBlock2D : Module
{
    private readonly IReadOnlyList<ResnetBlock2D> resnets;
    private readonly Upsample2D? upsampler;

    public UpDecoderBlock2D(long inChannels, long outChannels, int numLayers, bool addUpsample, long groups, double eps)
    {
        resnets = Children("resnets", Enumerable.Range(0, numLayers).Select(i =>
            new ResnetBlock2D(i == 0 ? inChannels : outChannels, outChannels, null, groups, eps)));
        if (addUpsample) upsampler = Children("upsamplers", [new Upsample2D(outChannels, outChannels)])[0];
    }

    public Tensor Forward(Tensor x)
    {
        using var scope = torch.NewDisposeScope();
        var h = x;
        foreach (var resnet in resnets) h = Replace(h, resnet.Forward(h, null), x);
        if (upsampler is not null) h = Replace(h, upsampler.Forward(h), x);
        return scope.MoveToOuter(h);
    }
}

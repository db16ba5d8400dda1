using Farm.Diffusion.Models.Blocks;
using Farm.Diffusion.Torch;

namespace Farm.Diffusion.Models.Unet;

internal sealed class UpBlock2D : UNetUpBlock
{
    private readonly IReadOnlyList<ResnetBlock2D> resnets;
    private readonly Upsample2D? upsampler;

    public UpBlock2D(UNetBlockSettings s)
    {
        resnets = Children("resnets", Enumerable.Range(0, s.NumLayers).Select(i =>
        {
            // The last resnet takes the skip from before this level's downsampler, which has the input width.
            var resSkipChannels = i == s.NumLayers - 1 ? s.InChannels : s.OutChannels;
            var resnetInChannels = i == 0 ? s.PrevOutputChannels : s.OutChannels;
            return new ResnetBlock2D(resnetInChannels + resSkipChannels, s.OutChannels, s.TembChannels, s.Groups, s.Eps);
        }));
        if (s.AddSample) upsampler = Children("upsamplers", [new Upsample2D(s.OutChannels, s.OutChannels)])[0];
    }

    public override int ResnetCount => resnets.Count;

    public override Tensor Forward(
        Tensor hiddenStates, IReadOnlyList<Tensor> resHiddenStates, Tensor temb, Tensor encoderHiddenStates, (long Height, long Width)? upsampleSize)
    {
        using var scope = torch.NewDisposeScope();
        var h = hiddenStates;
        for (var i = 0; i < resnets.Count; i++)
            h = resnets[i].Forward(torch.cat([h, resHiddenStates[resHiddenStates.Count - 1 - i]], 1), temb);
        if (upsampler is not null) h = upsampler.Forward(h, upsampleSize);
        return scope.MoveToOuter(h);
    }
}

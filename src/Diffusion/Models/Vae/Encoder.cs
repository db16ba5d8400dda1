using Farm.Diffusion.Models.Layers;
using Farm.Diffusion.Torch;

namespace Farm.Diffusion.Models.Vae;

/// <summary>The VAE encoder: image [B, 3, H, W] → moments [B, 2·latent, H/8, W/8] (before quant_conv). Norm eps 1e-6 throughout.</summary>
internal sealed class Encoder : Module
{
    private const double Eps = 1e-6;

    private readonly Conv2d convIn;
    private readonly IReadOnlyList<DownEncoderBlock2D> downBlocks;
    private readonly UNetMidBlock2D midBlock;
    private readonly GroupNorm convNormOut;
    private readonly Conv2d convOut;

    public Encoder(AutoencoderKLConfig config)
    {
        var channels = config.BlockOutChannels;
        convIn = Child("conv_in", new Conv2d(config.InChannels, channels[0], 3, padding: 1));
        var outputChannel = channels[0];
        downBlocks = Children("down_blocks", Enumerable.Range(0, channels.Count).Select(i =>
        {
            var inputChannel = outputChannel;
            outputChannel = channels[i];
            return new DownEncoderBlock2D(inputChannel, outputChannel, config.LayersPerBlock, i != channels.Count - 1, config.NormNumGroups, Eps);
        }).ToList());
        midBlock = Child("mid_block", new UNetMidBlock2D(channels[^1], config.NormNumGroups, Eps, channels[^1], config.MidBlockAddAttention));
        convNormOut = Child("conv_norm_out", new GroupNorm(config.NormNumGroups, channels[^1], Eps));
        convOut = Child("conv_out", new Conv2d(channels[^1], 2 * config.LatentChannels, 3, padding: 1));
    }

    public Tensor Forward(Tensor x)
    {
        using var scope = torch.NewDisposeScope();
        var h = convIn.Forward(x);
        foreach (var block in downBlocks) h = Replace(h, block.Forward(h), x);
        h = Replace(h, midBlock.Forward(h), x);
        h = Replace(h, convNormOut.Forward(h).silu_(), x);
        h = Replace(h, convOut.Forward(h), x);
        // CPU convs leave channels-last activations (ft_nn_conv2d); callers get plain NCHW back.
        return scope.MoveToOuter(h.contiguous());
    }
}

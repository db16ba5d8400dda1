using Farm.Diffusion.Models.Layers;
using Farm.Diffusion.Torch;

namespace Farm.Diffusion.Models.Vae;

/// <summary>The VAE decoder: z [B, latent, h, w] (after post_quant_conv) → image [B, 3, 8h, 8w], unclamped. Norm eps 1e-6 throughout.</summary>
internal sealed class Decoder : Module
{
    private const double Eps = 1e-6;

    private readonly Conv2d convIn;
    private readonly UNetMidBlock2D midBlock;
    private readonly IReadOnlyList<UpDecoderBlock2D> upBlocks;
    private readonly GroupNorm convNormOut;
    private readonly Conv2d convOut;

    public Decoder(AutoencoderKLConfig config)
    {
        var channels = config.BlockOutChannels;
        convIn = Child("conv_in", new Conv2d(config.LatentChannels, channels[^1], 3, padding: 1));
        midBlock = Child("mid_block", new UNetMidBlock2D(channels[^1], config.NormNumGroups, Eps, channels[^1], config.MidBlockAddAttention));
        var blocks = new List<UpDecoderBlock2D>();
        var outputChannel = channels[^1];
        for (var i = 0; i < channels.Count; i++)
        {
            var prevOutputChannel = outputChannel;
            outputChannel = channels[channels.Count - 1 - i];
            blocks.Add(new UpDecoderBlock2D(prevOutputChannel, outputChannel, config.LayersPerBlock + 1, i != channels.Count - 1, config.NormNumGroups, Eps));
        }
        upBlocks = Children("up_blocks", blocks);
        convNormOut = Child("conv_norm_out", new GroupNorm(config.NormNumGroups, channels[0], Eps));
        convOut = Child("conv_out", new Conv2d(channels[0], config.OutChannels, 3, padding: 1));
    }

    public Tensor Forward(Tensor z)
    {
        using var scope = torch.NewDisposeScope();
        var h = convIn.Forward(z);
        h = Replace(h, midBlock.Forward(h), z);
        foreach (var block in upBlocks) h = Replace(h, block.Forward(h), z);
        h = Replace(h, convNormOut.Forward(h).silu_(), z);
        h = Replace(h, convOut.Forward(h), z);
        // CPU convs leave channels-last activations (ft_nn_conv2d); callers get plain NCHW back.
        return scope.MoveToOuter(h.contiguous());
    }
}

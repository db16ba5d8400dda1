using Farm.Diffusion.Models.Layers;
using Farm.Diffusion.Torch;
using F = Farm.Diffusion.Torch.torch.nn.functional;

namespace Farm.Diffusion.Models.Blocks;

/// <summary>
/// Strided 3×3 convolution. The UNet pads 1 inside the convolution; the VAE encoder (padding 0) pads
/// right and bottom by one first, as diffusers does, so odd sizes round the same way.
/// </summary>
internal sealed class Downsample2D : Module
{
    private readonly Conv2d conv;
    private readonly long padding;

    public Downsample2D(long channels, long outChannels, long padding)
    {
        this.padding = padding;
        conv = Child("conv", new Conv2d(channels, outChannels, 3, stride: 2, padding: padding));
    }

    public Tensor Forward(Tensor x)
    {
        if (padding != 0) return conv.Forward(x);
        using var scope = torch.NewDisposeScope();
        return scope.MoveToOuter(conv.Forward(F.pad(x, 0, 1, 0, 1)));
    }
}

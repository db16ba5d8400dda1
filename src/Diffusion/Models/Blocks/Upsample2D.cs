using Farm.Diffusion.Models.Layers;
using Farm.Diffusion.Torch;
using F = Farm.Diffusion.Torch.torch.nn.functional;

namespace Farm.Diffusion.Models.Blocks;

/// <summary>Nearest-neighbour ×2 (or to an explicit size) followed by a 3×3 convolution.</summary>
internal sealed class Upsample2D : Module
{
    private readonly Conv2d conv;

    public Upsample2D(long channels, long outChannels) => conv = Child("conv", new Conv2d(channels, outChannels, 3, padding: 1));

    /// <param name="outputSize">
    /// The UNet passes the spatial size of the skip connection that follows, so latents that are not a multiple of 8
    /// come back to the right size (1×2 → 2×3, not 2×4). Nearest to exactly twice the size equals scale_factor 2.
    /// </param>
    public Tensor Forward(Tensor x, (long Height, long Width)? outputSize = null)
    {
        using var scope = torch.NewDisposeScope();
        var (height, width) = outputSize ?? (x.size(2) * 2, x.size(3) * 2);
        var dtype = x.dtype;
        // torch < 2.1 has no bfloat16 nearest upsampling; diffusers goes through float32.
        var h = dtype == ScalarType.BFloat16
            ? F.interpolate_nearest(x.to(ScalarType.Float32), height, width).to(dtype)
            : F.interpolate_nearest(x, height, width);
        return scope.MoveToOuter(conv.Forward(h));
    }
}

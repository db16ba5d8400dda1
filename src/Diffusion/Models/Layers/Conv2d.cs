using Farm.Diffusion.Torch;
using F = Farm.Diffusion.Torch.torch.nn.functional;

namespace Farm.Diffusion.Models.Layers;

public sealed class Conv2d : Module
{
    private readonly Parameter weight;
    private readonly Parameter? bias;
    private readonly long stride;
    private readonly long padding;

    public Conv2d(long inChannels, long outChannels, long kernelSize, long stride = 1, long padding = 0, bool hasBias = true)
    {
        weight = Param("weight", outChannels, inChannels, kernelSize, kernelSize);
        if (hasBias) bias = Param("bias", outChannels);
        this.stride = stride;
        this.padding = padding;
    }

    public Tensor Forward(Tensor x) => F.conv2d(x, weight, bias?.Value, stride, padding);
}

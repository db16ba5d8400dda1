using Farm.Diffusion.Torch;
using F = Farm.Diffusion.Torch.torch.nn.functional;

namespace Farm.Diffusion.Models.Layers;

public sealed class Linear : Module
{
    private readonly Parameter weight;
    private readonly Parameter? bias;

    public Linear(long inFeatures, long outFeatures, bool hasBias = true)
    {
        weight = Param("weight", outFeatures, inFeatures);
        if (hasBias) bias = Param("bias", outFeatures);
    }

    public Tensor Forward(Tensor x) => F.linear(x, weight, bias?.Value);
}

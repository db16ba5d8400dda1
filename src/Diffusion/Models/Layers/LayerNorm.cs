using Farm.Diffusion.Torch;
using F = Farm.Diffusion.Torch.torch.nn.functional;

namespace Farm.Diffusion.Models.Layers;

public sealed class LayerNorm : Module
{
    private readonly Parameter weight;
    private readonly Parameter bias;
    private readonly double eps;

    public LayerNorm(long features, double eps = 1e-5)
    {
        weight = Param("weight", features);
        bias = Param("bias", features);
        this.eps = eps;
    }

    public Tensor Forward(Tensor x) => F.layer_norm(x, weight, bias, eps);
}

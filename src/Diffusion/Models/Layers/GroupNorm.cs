using Farm.Diffusion.Torch;
using F = Farm.Diffusion.Torch.torch.nn.functional;

namespace Farm.Diffusion.Models.Layers;

public sealed class GroupNorm : Module
{
    private readonly Parameter weight;
    private readonly Parameter bias;
    private readonly long groups;
    private readonly double eps;

    public GroupNorm(long groups, long channels, double eps)
    {
        weight = Param("weight", channels);
        bias = Param("bias", channels);
        this.groups = groups;
        this.eps = eps;
    }

    public Tensor Forward(Tensor x) => F.group_norm(x, groups, weight, bias, eps);
}

using Farm.Diffusion.Torch;
using F = Farm.Diffusion.Torch.torch.nn.functional;

namespace Farm.Diffusion.Models.Layers;

public sealed class Embedding : Module
{
    private readonly Parameter weight;

    public Embedding(long count, long dimension) => weight = Param("weight", count, dimension);

    public Tensor Weight => weight;

    public Tensor Forward(Tensor ids) => F.embedding(ids, weight);
}

using Farm.Diffusion.Models.Layers;
using Farm.Diffusion.Torch;

namespace Farm.Diffusion.Models.Blocks;

/// <summary>linear_1 → SiLU → linear_2 over the sinusoidal embedding.</summary>
internal sealed class TimestepEmbedding : Module
{
    private readonly Linear linear1;
    private readonly Linear linear2;

    public TimestepEmbedding(long inChannels, long timeEmbedDim)
    {
        linear1 = Child("linear_1", new Linear(inChannels, timeEmbedDim));
        linear2 = Child("linear_2", new Linear(timeEmbedDim, timeEmbedDim));
    }

    public Tensor Forward(Tensor sample)
    {
        using var scope = torch.NewDisposeScope();
        return scope.MoveToOuter(linear2.Forward(linear1.Forward(sample).silu()));
    }
}

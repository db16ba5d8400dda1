using Farm.Diffusion.Models.Layers;
using Farm.Diffusion.Torch;

namespace Farm.Diffusion.Models.Blocks;

/// <summary>diffusers' FeedForward with activation "geglu": net.0 = GEGLU(dim → 4·dim), net.1 = dropout (none at inference), net.2 = Linear(4·dim → dim).</summary>
internal sealed class FeedForward : Module
{
    private readonly GEGLU geglu;
    private readonly Linear output;

    public FeedForward(long dim, long mult = 4)
    {
        var inner = dim * mult;
        geglu = Child("net.0", new GEGLU(dim, inner));
        output = Child("net.2", new Linear(inner, dim));
    }

    public Tensor Forward(Tensor x)
    {
        using var scope = torch.NewDisposeScope();
        return scope.MoveToOuter(output.Forward(geglu.Forward(x)));
    }
}

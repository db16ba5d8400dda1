using Farm.Diffusion.Models.Layers;
using Farm.Diffusion.Torch;

namespace Farm.Diffusion.Models.Blocks;

/// <summary>Gated GELU: one projection to twice the width, split into value and gate, value · GELU(gate) (exact erf GELU).</summary>
internal sealed class GEGLU : Module
{
    private readonly Linear proj;

    public GEGLU(long dimIn, long dimOut) => proj = Child("proj", new Linear(dimIn, dimOut * 2));

    public Tensor Forward(Tensor x)
    {
        using var scope = torch.NewDisposeScope();
        var parts = proj.Forward(x).chunk(2, -1);
        return scope.MoveToOuter(parts[0] * parts[1].gelu());
    }
}

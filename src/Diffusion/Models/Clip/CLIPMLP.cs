using Farm.Diffusion.Models.Layers;
using Farm.Diffusion.Torch;

namespace Farm.Diffusion.Models.Clip;

/// <summary>fc1 → activation → fc2.</summary>
internal sealed class CLIPMLP : Module
{
    private readonly Linear fc1;
    private readonly Linear fc2;
    private readonly bool quickGelu;

    public CLIPMLP(CLIPTextConfig config)
    {
        fc1 = Child("fc1", new Linear(config.HiddenSize, config.IntermediateSize));
        fc2 = Child("fc2", new Linear(config.IntermediateSize, config.HiddenSize));
        quickGelu = config.HiddenAct == "quick_gelu";
    }

    public Tensor Forward(Tensor x)
    {
        using var scope = torch.NewDisposeScope();
        var h = fc1.Forward(x);
        // QuickGELUActivation: input * torch.sigmoid(1.702 * input); "gelu" is the exact erf form.
        h = quickGelu ? h * (h * 1.702).sigmoid() : h.gelu();
        return scope.MoveToOuter(fc2.Forward(h));
    }
}

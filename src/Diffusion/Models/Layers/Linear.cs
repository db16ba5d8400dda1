using Farm.Diffusion.Torch;
using F = Farm.Diffusion.Torch.torch.nn.functional;

namespace Farm.Diffusion.Models.Layers;

public sealed class Linear : Module
{
    private readonly Parameter weight;
    private readonly Parameter? bias;

    public Linear(long inFeatures, long outFeatures, bool hasBias = true)
    {
        InFeatures = inFeatures;
        OutFeatures = outFeatures;
        weight = Param("weight", outFeatures, inFeatures);
        if (hasBias) bias = Param("bias", outFeatures);
    }

    public long InFeatures { get; }

    public long OutFeatures { get; }

    /// <summary>LoRA branches added to the output (none unless an adapter scope is applied).</summary>
    internal AdapterSlot Adapters { get; } = new();

    public Tensor Forward(Tensor x)
    {
        var y = F.linear(x, weight, bias?.Value);
        if (Adapters.Active.Count == 0) return y;
        return Adapters.AddTo(y, x, static (a, input) =>
        {
            using var down = F.linear(input, a.Down);
            return F.linear(down, a.Up);
        });
    }
}

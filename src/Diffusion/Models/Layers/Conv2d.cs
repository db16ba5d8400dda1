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
        InChannels = inChannels;
        OutChannels = outChannels;
        KernelSize = kernelSize;
        weight = Param("weight", outChannels, inChannels, kernelSize, kernelSize);
        if (hasBias) bias = Param("bias", outChannels);
        this.stride = stride;
        this.padding = padding;
    }

    public long InChannels { get; }

    public long OutChannels { get; }

    public long KernelSize { get; }

    /// <summary>LoRA branches added to the output (none unless an adapter scope is applied).</summary>
    internal AdapterSlot Adapters { get; } = new();

    public Tensor Forward(Tensor x)
    {
        var y = F.conv2d(x, weight, bias?.Value, stride, padding);
        if (Adapters.Active.Count == 0) return y;
        // PEFT's Conv2d LoRA: lora_A is a conv with the base layer's kernel, stride and padding; lora_B is 1×1.
        return Adapters.AddTo(y, x, (a, input) =>
        {
            using var down = F.conv2d(input, a.Down, null, stride, padding);
            return F.conv2d(down, a.Up);
        });
    }
}

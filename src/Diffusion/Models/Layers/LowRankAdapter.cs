using Farm.Diffusion.Torch;

namespace Farm.Diffusion.Models.Layers;

/// <summary>
/// One LoRA branch attached to a <see cref="Linear"/> or <see cref="Conv2d"/>: the layer adds
/// <c>Factor · up(down(x))</c> to its base output, as PEFT's unmerged forward does. The base weights are never
/// touched; the tensors belong to whoever attached the branch (an applied adapter scope), not to the layer.
/// </summary>
internal sealed class LowRankAdapter(Tensor down, Tensor up, double factor)
{
    /// <summary>[rank, in] for a Linear; [rank, in, k, k] for a Conv2d (applied with the layer's stride and padding).</summary>
    public Tensor Down { get; } = down;

    /// <summary>[out, rank] for a Linear; [out, rank, 1, 1] for a Conv2d.</summary>
    public Tensor Up { get; } = up;

    /// <summary>scale · weight · alpha / rank, formed in float64; enters the product as a scalar.</summary>
    public double Factor { get; } = factor;
}

/// <summary>The adapter slot of a layer: attach and detach by identity, so several scopes never undo each other.</summary>
internal sealed class AdapterSlot
{
    private LowRankAdapter[] adapters = [];

    public IReadOnlyList<LowRankAdapter> Active => adapters;

    public void Attach(LowRankAdapter adapter) => adapters = [.. adapters, adapter];

    public void Detach(LowRankAdapter adapter) => adapters = adapters.Where(a => !ReferenceEquals(a, adapter)).ToArray();

    /// <summary>
    /// <c>result = result + branch(x) · f</c> for each branch in attach order (PEFT: <c>result + lora_B(lora_A(x)) * scaling</c>).
    /// A zero factor adds exactly nothing and is skipped, so scale 0 is the base model bit for bit.
    /// </summary>
    public Tensor AddTo(Tensor result, Tensor x, Func<LowRankAdapter, Tensor, Tensor> branch)
    {
        foreach (var adapter in adapters)
        {
            if (adapter.Factor == 0) continue;
            using var delta = branch(adapter, x);
            using var scaled = delta * adapter.Factor;
            var next = result + scaled;
            result.Dispose();
            result = next;
        }
        return result;
    }
}

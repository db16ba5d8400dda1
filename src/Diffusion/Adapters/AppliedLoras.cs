using Farm.Diffusion.Models;
using Farm.Diffusion.Models.Layers;
using Farm.Diffusion.Torch;

namespace Farm.Diffusion.Adapters;

/// <summary>
/// LoRA branches attached to a model's layers for the lifetime of this scope; disposing detaches them and frees their
/// tensors, leaving the model exactly as it was (the base weights are never written). Every layer then computes
/// <c>W x + b + Σ f · up(down(x))</c> with <c>f = weight · alpha / rank · scale</c> (PEFT's unmerged forward), the
/// same <c>scale</c> for the UNet and the text encoders (diffusers scales the text encoder's LoRA layers while it
/// encodes both the positive and the negative prompt).
/// </summary>
internal sealed class AppliedLoras : IDisposable
{
    private readonly List<(AdapterSlot Slot, LowRankAdapter Adapter)> attached = new();
    private readonly List<Tensor> owned = new();

    private AppliedLoras() { }

    public static AppliedLoras None { get; } = new();

    /// <summary>
    /// Resolves every module of every file first (<see cref="LoraResolver"/>: an unknown module or a shape that does not
    /// fit throws, naming the key and the file, before anything is attached), then attaches.
    /// </summary>
    public static AppliedLoras Apply(IReadOnlyList<LoraActivation> loras, LoraModels models, double scale = 1.0)
    {
        var plan = LoraResolver.Resolve(loras, models, scale);
        var applied = new AppliedLoras();
        try
        {
            foreach (var target in plan)
            {
                var (down, up, slot) = Convert(target.Weights, target.Layer, applied.owned);
                var adapter = new LowRankAdapter(down, up, target.Factor);
                slot.Attach(adapter);
                applied.attached.Add((slot, adapter));
            }
            return applied;
        }
        catch
        {
            applied.Dispose();
            throw;
        }
    }

    private static (Tensor Down, Tensor Up, AdapterSlot Slot) Convert(LoraModuleWeights m, Module layer, List<Tensor> owned)
    {
        var reference = layer.NamedParameters().First().Parameter.Value;
        var (dtype, device) = (reference.dtype, reference.device);
        Tensor Own(Tensor t) { owned.Add(t); return t; }
        var down = Own(m.Down.to(dtype, device).DetachFromDisposeScope());
        var up = Own(m.Up.to(dtype, device).DetachFromDisposeScope());
        switch (layer)
        {
            case Linear l:
                if (down.dim() == 4) down = Own(down.reshape(down.size(0), down.size(1)).DetachFromDisposeScope());
                if (up.dim() == 4) up = Own(up.reshape(up.size(0), up.size(1)).DetachFromDisposeScope());
                return (down, up, l.Adapters);
            case Conv2d c:
                if (down.dim() == 2) down = Own(down.reshape(down.size(0), down.size(1), 1, 1).DetachFromDisposeScope());
                if (up.dim() == 2) up = Own(up.reshape(up.size(0), up.size(1), 1, 1).DetachFromDisposeScope());
                return (down, up, c.Adapters);
            default:
                throw new InvalidOperationException($"no LoRA for {layer.GetType().Name}");
        }
    }

    /// <summary>How many layer branches this scope attached.</summary>
    public int Count => attached.Count;

    public void Dispose()
    {
        foreach (var (slot, adapter) in attached) slot.Detach(adapter);
        attached.Clear();
        foreach (var t in owned) t.Dispose();
        owned.Clear();
    }
}

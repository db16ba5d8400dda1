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
    /// Resolves every module of every file first (an unknown module or a shape that does not fit throws, naming the
    /// key and the file, before anything is attached), then attaches.
    /// </summary>
    public static AppliedLoras Apply(IReadOnlyList<LoraActivation> loras, LoraModels models, double scale = 1.0)
    {
        var indexes = new Dictionary<LoraComponent, LoraTargetIndex>();
        var plan = new List<(LoraModuleWeights Weights, Module Layer, double Factor)>();
        foreach (var lora in loras)
        {
            foreach (var module in lora.File.Modules)
            {
                if (!indexes.TryGetValue(module.Component, out var index))
                {
                    var model = models.For(module.Component)
                        ?? throw new InvalidDataException(
                            $"{lora.File.Path}: LoRA key '{module.DownKey}' is for the {module.Component.Name()}, which this model does not have"
                            + (module.Component == LoraComponent.TextEncoder2 ? " (an SDXL LoRA on a single-text-encoder model?)" : ""));
                    indexes[module.Component] = index = new LoraTargetIndex(model);
                }
                var found = index.Find(module.Naming, module.ModuleName)
                    ?? throw new InvalidDataException(
                        $"{lora.File.Path}: LoRA key '{module.DownKey}' matches no Linear or Conv2d module of the {module.Component.Name()}"
                        + (module.Naming == LoraNaming.Kohya && IsLdmName(module.ModuleName) ? " (LDM/SGM-named LoRA files are not supported)" : ""));
                CheckShapes(lora.File, module, found.Path, found.Layer);
                plan.Add((module, found.Layer, module.Factor(lora.Weight, scale)));
            }
        }

        var applied = new AppliedLoras();
        try
        {
            foreach (var (weights, layer, factor) in plan)
            {
                var (down, up, slot) = Convert(weights, layer, applied.owned);
                var adapter = new LowRankAdapter(down, up, factor);
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

    private static bool IsLdmName(string name) =>
        name.StartsWith("input_blocks_", StringComparison.Ordinal) || name.StartsWith("middle_block_", StringComparison.Ordinal)
        || name.StartsWith("output_blocks_", StringComparison.Ordinal);

    /// <summary>Expected [rank, in(, k, k)] / [out, rank(, 1, 1)]; a 1×1 conv and a Linear accept each other's LoRA shapes.</summary>
    private static void CheckShapes(LoraFile file, LoraModuleWeights m, string path, Module layer)
    {
        var rank = m.Rank;
        var (inF, outF, k, kind) = layer switch
        {
            Linear l => (l.InFeatures, l.OutFeatures, 1L, "Linear"),
            Conv2d c => (c.InChannels, c.OutChannels, c.KernelSize, $"Conv2d {c.KernelSize}×{c.KernelSize}"),
            _ => throw new InvalidOperationException(),
        };
        var downOk = Fits(m.Down.shape, [rank, inF], k);
        var upOk = Fits(m.Up.shape, [outF, rank], 1);
        if (downOk && upOk) return;
        var weightShape = k == 1 && layer is Linear ? $"[{outF}, {inF}]" : $"[{outF}, {inF}, {k}, {k}]";
        var (key, shape, expected) = !downOk
            ? (m.DownKey, m.Down.shape, k == 1 ? $"[{rank}, {inF}]" : $"[{rank}, {inF}, {k}, {k}]")
            : (m.UpKey, m.Up.shape, $"[{outF}, {rank}]");
        throw new InvalidDataException(
            $"{file.Path}: LoRA key '{key}' has shape [{Shapes.Format(shape)}] but {m.Component.Name()} module '{path}' ({kind}, weight {weightShape}) needs {expected}"
            + " (a LoRA for another model family or size?)");
    }

    private static bool Fits(long[] shape, long[] matrix, long kernel) =>
        kernel == 1 && shape.AsSpan().SequenceEqual(matrix)
        || shape.Length == 4 && shape[0] == matrix[0] && shape[1] == matrix[1] && shape[2] == kernel && shape[3] == kernel;

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

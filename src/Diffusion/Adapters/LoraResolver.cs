using Farm.Diffusion.Models;
using Farm.Diffusion.Models.Layers;
using Farm.Diffusion.Models.Unet;

namespace Farm.Diffusion.Adapters;

/// <summary>One LoRA module matched to its layer, with its factor for this render.</summary>
internal sealed record ResolvedLoraModule(LoraModuleWeights Weights, LoraComponent Component, string Path, Module Layer, double Factor);

/// <summary>
/// Matches every module of a render's LoRA files to a layer of the models and checks the shapes, without touching the
/// models. An unknown module or a shape that does not fit is an error naming the key and the file (and both shapes).
/// </summary>
internal static class LoraResolver
{
    public static List<ResolvedLoraModule> Resolve(IReadOnlyList<LoraActivation> loras, LoraModels models, double scale = 1.0)
    {
        var indexes = new Dictionary<LoraComponent, LoraTargetIndex>();
        var plan = new List<ResolvedLoraModule>();
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
                    indexes[module.Component] = index = new LoraTargetIndex(model, model is UNet2DConditionModel unet ? LdmLoraNames.For(unet.Config) : null);
                }
                var found = index.Find(module.Naming, module.ModuleName)
                    ?? throw new InvalidDataException(
                        $"{lora.File.Path}: LoRA key '{module.DownKey}' matches no Linear or Conv2d module of the {module.Component.Name()}");
                CheckShapes(lora.File, module, found.Path, found.Layer);
                plan.Add(new ResolvedLoraModule(module, module.Component, found.Path, found.Layer, module.Factor(lora.Weight, scale)));
            }
        }
        return plan;
    }

    /// <summary>Expected [rank, in(, k, k)] / [out, rank(, 1, 1)]; a 1×1 conv and a Linear accept each other's LoRA shapes.</summary>
    internal static void CheckShapes(LoraFile file, LoraModuleWeights m, string path, Module layer)
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
}

using Farm.Diffusion.Models;
using Farm.Diffusion.Torch;
using Farm.Diffusion.Weights;

namespace Farm.Diffusion.Adapters;

/// <summary>
/// A parsed LoRA safetensors file (kohya/A1111 or diffusers/PEFT names, even mixed): its modules with their down/up
/// matrices and alphas, held on the CPU in the stored dtype. Immutable once loaded, so a cache can share it between
/// renders; applying converts copies to the model's dtype and device.
/// </summary>
internal sealed class LoraFile : IDisposable
{
    private LoraFile(string path, IReadOnlyList<LoraModuleWeights> modules)
    {
        Path = path;
        Modules = modules;
    }

    public string Path { get; }

    public IReadOnlyList<LoraModuleWeights> Modules { get; }

    /// <summary>Bytes of tensor data held (for a cache's budget).</summary>
    public long ByteSize => Modules.Sum(m => m.Down.numel() * m.Down.dtype.ElementSize() + m.Up.numel() * m.Up.dtype.ElementSize());

    public bool Targets(LoraComponent component) => Modules.Any(m => m.Component == component);

    public static LoraFile Load(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"LoRA file not found: {path}", path);
        using var file = SafetensorsFile.Open(path);
        var groups = new Dictionary<(LoraComponent, LoraNaming, string), Dictionary<LoraPart, string>>();
        foreach (var info in file.Tensors)
        {
            var key = LoraKey.Parse(info.Name)
                ?? throw new InvalidDataException(
                    $"{path}: tensor '{info.Name}' is not a LoRA key (expected kohya 'lora_unet_…/lora_te_…' + '.lora_down.weight/.lora_up.weight/.alpha' "
                    + "or diffusers 'unet./text_encoder.' + '.lora.down/up.weight', '.lora_linear_layer.down/up.weight', '.lora_A/B.weight')");
            var id = (key.Component, key.Naming, key.ModuleName);
            if (!groups.TryGetValue(id, out var parts)) groups[id] = parts = new();
            if (!parts.TryAdd(key.Part, info.Name))
                throw new InvalidDataException($"{path}: '{parts[key.Part]}' and '{info.Name}' are both the {key.Part} of LoRA module '{key.ModuleName}'");
        }

        var modules = new List<LoraModuleWeights>(groups.Count);
        try
        {
            foreach (var ((component, naming, name), parts) in groups.OrderBy(g => g.Key.Item3, StringComparer.Ordinal))
            {
                if (!parts.TryGetValue(LoraPart.Down, out var downKey) || !parts.TryGetValue(LoraPart.Up, out var upKey))
                    throw new InvalidDataException(
                        $"{path}: LoRA module '{name}' ({component.Name()}) has {(parts.ContainsKey(LoraPart.Down) ? "no up" : "no down")} matrix (keys: {string.Join(", ", parts.Values)})");
                double? alpha = parts.TryGetValue(LoraPart.Alpha, out var alphaKey) ? ReadScalar(file, alphaKey) : null;
                var down = SafetensorsWeights.ReadRaw(file, downKey).DetachFromDisposeScope();
                var up = SafetensorsWeights.ReadRaw(file, upKey).DetachFromDisposeScope();
                var module = new LoraModuleWeights(component, naming, name, downKey, upKey, down, up, alpha);
                modules.Add(module);
                if (down.dim() < 2 || up.dim() < 2 || up.size(1) != down.size(0))
                    throw new InvalidDataException(
                        $"{path}: LoRA module '{name}': '{downKey}' [{Shapes.Format(down.shape)}] and '{upKey}' [{Shapes.Format(up.shape)}] do not share a rank");
            }
            return new LoraFile(path, modules);
        }
        catch
        {
            foreach (var m in modules) { m.Down.Dispose(); m.Up.Dispose(); }
            throw;
        }
    }

    private static double ReadScalar(SafetensorsFile file, string key)
    {
        using var raw = SafetensorsWeights.ReadRaw(file, key);
        if (raw.numel() != 1) throw new InvalidDataException($"{file.Path}: '{key}' should hold one value, it has shape [{Shapes.Format(raw.shape)}]");
        return raw.item();
    }

    public void Dispose()
    {
        foreach (var m in Modules)
        {
            m.Down.Dispose();
            m.Up.Dispose();
        }
    }
}

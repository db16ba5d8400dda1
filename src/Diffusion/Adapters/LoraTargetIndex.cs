using Farm.Diffusion.Models;
using Farm.Diffusion.Models.Layers;

namespace Farm.Diffusion.Adapters;

/// <summary>
/// The layers of one model a LoRA can target (every <see cref="Linear"/> and <see cref="Conv2d"/>), by dotted path
/// and by the kohya spelling of that path ('.' → '_'). kohya names are resolved by comparing with the model's own
/// paths, never by turning '_' back into '.', which is ambiguous (<c>to_q</c>, <c>transformer_blocks</c>).
/// </summary>
internal sealed class LoraTargetIndex
{
    private readonly Dictionary<string, Module> byPath = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<string>> byKohyaName = new(StringComparer.Ordinal);
    private readonly Func<string, string?>? otherSpelling;

    /// <param name="otherSpelling">Another kohya spelling the model's layers go by (the UNet's LDM/SGM names,
    /// <see cref="LdmLoraNames"/>), mapped to the kohya spelling of the diffusers path.</param>
    public LoraTargetIndex(Module model, Func<string, string?>? otherSpelling = null)
    {
        this.otherSpelling = otherSpelling;
        foreach (var (path, module) in model.NamedModules())
        {
            if (module is not (Linear or Conv2d)) continue;
            byPath[path] = module;
            var kohya = path.Replace('.', '_');
            if (!byKohyaName.TryGetValue(kohya, out var paths)) byKohyaName[kohya] = paths = new();
            paths.Add(path);
        }
    }

    /// <summary>The layer and its dotted path, or null when the name matches none.</summary>
    public (string Path, Module Layer)? Find(LoraNaming naming, string moduleName)
    {
        if (naming == LoraNaming.Diffusers)
            return byPath.TryGetValue(moduleName, out var layer) ? (moduleName, layer) : null;
        if (!byKohyaName.TryGetValue(moduleName, out var paths)
            && !(otherSpelling?.Invoke(moduleName) is { } alias && byKohyaName.TryGetValue(alias, out paths))) return null;
        if (paths.Count > 1)
            throw new InvalidDataException($"kohya LoRA name '{moduleName}' fits several modules of the model: {string.Join(", ", paths)}");
        return (paths[0], byPath[paths[0]]);
    }
}

using Farm.Diffusion.Torch;

namespace Farm.Diffusion.Models.Loading;

/// <summary>
/// One component of a single-file checkpoint under diffusers/transformers keys. Nothing is converted up front:
/// <see cref="Load"/> reads the one stored tensor (memory-mapped for safetensors), converts its dtype and applies the
/// key's op, so loading never holds more than one converted tensor beyond what the model keeps.
/// </summary>
internal sealed class ConvertedWeights(IWeightSource stored, string component, IReadOnlyDictionary<string, KeyMapping> map) : IWeightSource
{
    public string Description => $"{stored.Description} ({component})";

    public IEnumerable<string> Keys => map.Keys;

    public bool Contains(string key) => map.ContainsKey(key);

    /// <summary>The stored key a diffusers key comes from (for messages).</summary>
    public string SourceOf(string key) => map[key].Source;

    public long[] Shape(string key)
    {
        var mapping = map[key];
        var shape = stored.Shape(mapping.Source);
        return mapping.Op.ResultShape(shape)
            ?? throw new InvalidDataException($"{stored.Description}: tensor '{mapping.Source}' has shape [{Shapes.Format(shape)}], which cannot give {component} '{key}' by {mapping.Op}");
    }

    public Tensor Load(string key, ScalarType dtype, Device device)
    {
        var mapping = map[key];
        var raw = stored.Load(mapping.Source, dtype, device);
        if (mapping.Op.Kind == TensorOpKind.Copy) return raw;
        using (raw) return mapping.Op.Apply(raw).DetachFromDisposeScope();
    }

    /// <summary>
    /// Checks every tensor's shape against what a model built from the config expects, naming the stored key, the
    /// diffusers key and both shapes: a file and a config that disagree fail here, before a weight is read.
    /// </summary>
    public void CheckShapes(IEnumerable<(string Key, long[] Shape)> expected)
    {
        foreach (var (key, shape) in expected)
        {
            if (!map.TryGetValue(key, out var mapping)) continue; // Module.Load names missing keys, all at once
            var actual = Shape(key);
            if (!actual.AsSpan().SequenceEqual(shape))
                throw new InvalidDataException(
                    $"{stored.Description}: tensor '{mapping.Source}' ({component} '{key}') has shape [{Shapes.Format(actual)}] but the {component} config gives [{Shapes.Format(shape)}]; "
                    + "the config does not describe this checkpoint: pass the right config folder (--config DIR) or a matching NAME.yaml beside the file");
        }
    }
}

using Farm.Diffusion.Models;
using Farm.Diffusion.Torch;

namespace Farm.Diffusion.Weights;

/// <summary>
/// Seeded random weights for a model's own parameter list: for benchmarks at full size and for the tiny model.
/// Matrices and kernels get N(0, 1/fan_in), biases 0, norm scales 1, so activations stay in a sane range.
/// Each tensor's generator is seeded from the seed and the key, so a key's values do not depend on load order.
/// </summary>
internal sealed class RandomWeights(IEnumerable<(string Key, long[] Shape)> parameters, ulong seed, string description) : IWeightSource
{
    private readonly Dictionary<string, long[]> shapes = parameters.ToDictionary(p => p.Key, p => p.Shape, StringComparer.Ordinal);

    public static RandomWeights For(Module module, ulong seed, string description) =>
        new(module.NamedParameters().Select(p => (p.Key, p.Parameter.Shape)), seed, description);

    public string Description => description;

    public IEnumerable<string> Keys => shapes.Keys;

    public bool Contains(string key) => shapes.ContainsKey(key);

    public long[] Shape(string key) => shapes[key];

    public Tensor Load(string key, ScalarType dtype, Device device)
    {
        using var scope = torch.NewDisposeScope();
        var shape = shapes[key];
        Tensor values;
        if (shape.Length == 1 && key.EndsWith(".bias", StringComparison.Ordinal)) values = torch.zeros(shape);
        else if (shape.Length == 1) values = torch.ones(shape);
        else
        {
            using var generator = new Generator(seed ^ KeyHash(key));
            var fanIn = shape.Skip(1).Aggregate(1L, (a, b) => a * b);
            values = torch.randn(shape, generator).mul_(1.0 / Math.Sqrt(fanIn)); // in place: no second copy of a large table
        }
        return values.to(dtype, device).DetachFromDisposeScope();
    }

    /// <summary>FNV-1a over the key's UTF-16 code units: stable across runs and platforms (string.GetHashCode is not).</summary>
    private static ulong KeyHash(string key)
    {
        var hash = 14695981039346656037UL;
        foreach (var c in key)
        {
            hash ^= c;
            hash *= 1099511628211UL;
        }
        return hash;
    }
}

using Farm.Diffusion.Models;
using Farm.Diffusion.Torch;

namespace Farm.Diffusion.Tests.Models;

/// <summary>A checkpoint with one key removed or given another shape, to exercise strict loading.</summary>
internal sealed class WeightSourceWithChange(IWeightSource inner, string key, long[]? newShape) : IWeightSource
{
    public string Description => inner.Description;

    public IEnumerable<string> Keys => inner.Keys.Where(k => newShape is not null || k != key);

    public bool Contains(string k) => (newShape is not null || k != key) && inner.Contains(k);

    public long[] Shape(string k) => k == key && newShape is not null ? newShape : inner.Shape(k);

    public Tensor Load(string k, ScalarType dtype, Device device) =>
        k == key && newShape is not null ? torch.zeros(newShape, dtype, device).DetachFromDisposeScope() : inner.Load(k, dtype, device);
}

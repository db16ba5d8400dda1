using Farm.Diffusion.Models;
using Farm.Diffusion.Torch;

namespace Farm.Diffusion.Weights.Pickle;

/// <summary>
/// The state dict of a <c>.ckpt</c> as a weight source: the tensors of the innermost <c>state_dict</c> (unwrapped
/// as often as it is nested, as diffusers does), under their own keys. Siblings such as <c>global_step</c> or
/// optimizer state are ignored; non-tensor entries inside the state dict are left out.
/// </summary>
internal sealed class CkptWeights : IWeightSource, IDisposable
{
    private readonly TorchZipCheckpoint checkpoint;
    private readonly Dictionary<string, TorchTensorRef> tensors;

    private CkptWeights(TorchZipCheckpoint checkpoint, Dictionary<string, TorchTensorRef> tensors)
    {
        this.checkpoint = checkpoint;
        this.tensors = tensors;
    }

    public static CkptWeights Open(string path)
    {
        var checkpoint = TorchZipCheckpoint.Open(path);
        try
        {
            var root = checkpoint.Root;
            while (root is Dictionary<object, object?> outer && outer.TryGetValue("state_dict", out var inner) && inner is Dictionary<object, object?>)
                root = inner;
            if (root is not Dictionary<object, object?> dict)
                throw new InvalidDataException($"{path}: the checkpoint holds no state dict (a dictionary of tensors)");
            var found = dict.Where(e => e.Key is string && e.Value is TorchTensorRef)
                .ToDictionary(e => (string)e.Key, e => (TorchTensorRef)e.Value!, StringComparer.Ordinal);
            if (found.Count == 0) throw new InvalidDataException($"{path}: the checkpoint's state dict holds no tensors");
            return new CkptWeights(checkpoint, found);
        }
        catch
        {
            checkpoint.Dispose();
            throw;
        }
    }

    public string Description => checkpoint.Path;

    public IEnumerable<string> Keys => tensors.Keys;

    public bool Contains(string key) => tensors.ContainsKey(key);

    public long[] Shape(string key) => tensors[key].Size;

    /// <summary>The stored element type of a tensor (float16 in a half-precision checkpoint).</summary>
    public ScalarType StoredType(string key) => tensors[key].Storage.Type;

    public Tensor Load(string key, ScalarType dtype, Device device)
    {
        using var raw = checkpoint.ReadTensor(tensors[key]);
        return raw.to(dtype, device).DetachFromDisposeScope();
    }

    public void Dispose() => checkpoint.Dispose();
}

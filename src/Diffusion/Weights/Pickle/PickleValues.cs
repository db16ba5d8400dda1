using Farm.Diffusion.Torch;

namespace Farm.Diffusion.Weights.Pickle;

/// <summary>A pickled tuple (kept apart from lists so argument tuples are recognisable).</summary>
internal sealed record PickleTuple(object?[] Items);

/// <summary>A class or function named by GLOBAL/STACK_GLOBAL that the allowlist knows; never called, only interpreted.</summary>
internal sealed record PickleGlobal(string Module, string Name)
{
    public string FullName => $"{Module}.{Name}";
}

/// <summary>
/// An instance of a known data-only class from a training framework (numpy scalars, PyTorch Lightning callbacks) that
/// real checkpoints carry beside their weights. Its arguments and state are kept as data; nothing is constructed.
/// </summary>
internal sealed record OpaqueObject(string ClassName, object? Arguments)
{
    public object? State { get; set; }
}

/// <summary>A storage named by a persistent id <c>('storage', torch.FloatStorage, '0', 'cpu', numel)</c>: entry <c>data/&lt;Key&gt;</c>.</summary>
internal sealed record TorchStorageRef(ScalarType Type, string Key, long ElementCount);

/// <summary>A tensor as <c>torch._utils._rebuild_tensor_v2</c> describes it: a view (offset, size, stride, in elements) of a storage.</summary>
internal sealed record TorchTensorRef(TorchStorageRef Storage, long Offset, long[] Size, long[] Stride)
{
    public long ElementCount => Size.Aggregate(1L, (a, b) => checked(a * b));

    public bool IsContiguous
    {
        get
        {
            long expected = 1;
            for (var d = Size.Length - 1; d >= 0; d--)
            {
                if (Size[d] != 1 && Stride[d] != expected) return false;
                expected *= Size[d];
            }
            return true;
        }
    }
}

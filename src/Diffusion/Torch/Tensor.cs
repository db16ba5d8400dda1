using System.Runtime.InteropServices;
using static Farm.Diffusion.Torch.NativeMethods;

namespace Farm.Diffusion.Torch;

/// <summary>
/// A native libtorch tensor with exactly one owner. Names follow TorchSharp (and so PyTorch) so model code
/// reads like diffusers'. Tensors made inside a <see cref="DisposeScope"/> are disposed with it.
/// </summary>
public sealed partial class Tensor : IDisposable
{
    private readonly TensorHandle handle;
    private long[]? cachedShape;

    private Tensor(IntPtr native)
    {
        handle = new TensorHandle(native);
        DisposeScope.Track(this);
    }

    internal DisposeScope? Scope { get; set; }

    internal IntPtr Handle
    {
        get
        {
            ObjectDisposedException.ThrowIf(handle.IsClosed, this);
            return handle.DangerousGetHandle();
        }
    }

    internal static Tensor Wrap(int status, IntPtr native)
    {
        Check(status);
        return new Tensor(native);
    }

    public bool IsDisposed => handle.IsClosed;

    public void Dispose()
    {
        Scope?.Forget(this);
        handle.Dispose();
    }

    /// <summary>Hands this tensor to the scope outside the current one.</summary>
    public Tensor MoveToOuterDisposeScope() => Scope is null ? this : Scope.MoveToOuter(this);

    /// <summary>Takes this tensor out of any scope: the caller disposes it.</summary>
    public Tensor DetachFromDisposeScope()
    {
        Scope?.Forget(this);
        return this;
    }

    // ---- metadata ----

    public unsafe long[] shape
    {
        get
        {
            if (cachedShape is not null) return cachedShape;
            var dims = new long[ft_tensor_ndim(Handle)];
            fixed (long* p = dims) Check(ft_tensor_shape(Handle, p));
            return cachedShape = dims;
        }
    }

    public int dim() => shape.Length;

    public long size(int dimension) => shape[dimension < 0 ? dimension + shape.Length : dimension];

    public long numel()
    {
        long n = 1;
        foreach (var d in shape) n *= d;
        return n;
    }

    public ScalarType dtype
    {
        get
        {
            Check(ft_tensor_dtype(Handle, out var code));
            return (ScalarType)code;
        }
    }

    public Device device
    {
        get
        {
            Check(ft_tensor_device(Handle, out var type, out var index));
            return new Device((DeviceType)type, index);
        }
    }

    public override string ToString() => $"Tensor[{string.Join(", ", shape)}] {dtype.ShortName()} {device}";

    // ---- host data ----

    /// <summary>Copies the elements to a new managed array (any device, any layout).</summary>
    public unsafe T[] ToArray<T>() where T : unmanaged
    {
        var result = new T[numel()];
        CopyTo<T>(result);
        return result;
    }

    public unsafe void CopyTo<T>(Span<T> destination) where T : unmanaged
    {
        fixed (T* p = destination) Check(ft_tensor_copy_to_host(Handle, p, (long)destination.Length * sizeof(T)));
    }

    public double item()
    {
        Check(ft_tensor_item(Handle, out var value));
        return value;
    }

    // ---- dtype, device, layout ----

    public Tensor to(ScalarType type, Device target) => Wrap(ft_tensor_to(Handle, (int)type, (int)target.Type, target.Index, out var r), r);

    public Tensor to(ScalarType type) => to(type, device);

    public Tensor to(Device target) => to(dtype, target);

    public Tensor contiguous() => Wrap(ft_tensor_contiguous(Handle, out var r), r);

    public Tensor clone() => Wrap(ft_tensor_clone(Handle, out var r), r);

    /// <summary>Copies <paramref name="source"/> into this tensor in place.</summary>
    public Tensor copy_(Tensor source)
    {
        Check(ft_tensor_copy_(Handle, source.Handle));
        return this;
    }

    public unsafe Tensor reshape(params long[] newShape)
    {
        fixed (long* p = newShape) return Wrap(ft_tensor_reshape(Handle, p, newShape.Length, out var r), r);
    }

    public Tensor view(params long[] newShape) => reshape(newShape);

    public unsafe Tensor permute(params long[] order)
    {
        fixed (long* p = order) return Wrap(ft_tensor_permute(Handle, p, order.Length, out var r), r);
    }

    public Tensor transpose(long dim0, long dim1) => Wrap(ft_tensor_transpose(Handle, dim0, dim1, out var r), r);

    public Tensor narrow(long dimension, long start, long length) => Wrap(ft_tensor_narrow(Handle, dimension, start, length, out var r), r);

    public Tensor select(long dimension, long index) => Wrap(ft_tensor_select(Handle, dimension, index, out var r), r);

    public Tensor unsqueeze(long dimension) => Wrap(ft_tensor_unsqueeze(Handle, dimension, out var r), r);

    public unsafe Tensor expand(params long[] newShape)
    {
        fixed (long* p = newShape) return Wrap(ft_tensor_expand(Handle, p, newShape.Length, out var r), r);
    }

    public Tensor index_select(long dimension, Tensor index) => Wrap(ft_tensor_index_select(Handle, dimension, index.Handle, out var r), r);

    /// <summary>Splits into <paramref name="chunks"/> equal views along a dimension (as torch.chunk for divisible sizes).</summary>
    public Tensor[] chunk(int chunks, int dimension = 0)
    {
        var d = dimension < 0 ? dimension + dim() : dimension;
        var length = size(d);
        var step = (length + chunks - 1) / chunks;
        var parts = new List<Tensor>(chunks);
        for (long start = 0; start < length; start += step)
            parts.Add(narrow(d, start, Math.Min(step, length - start)));
        return parts.ToArray();
    }
}

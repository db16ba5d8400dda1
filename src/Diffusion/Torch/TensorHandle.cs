using System.Runtime.InteropServices;

namespace Farm.Diffusion.Torch;

/// <summary>Owns one native at::Tensor; the finaliser is only a safety net, disposal is expected.</summary>
internal sealed class TensorHandle : SafeHandle
{
    private static long live;

    public TensorHandle(IntPtr handle) : base(IntPtr.Zero, ownsHandle: true)
    {
        SetHandle(handle);
        Interlocked.Increment(ref live);
    }

    /// <summary>Native tensors currently owned by C# objects (a leak shows as growth across renders).</summary>
    public static long Live => Interlocked.Read(ref live);

    public override bool IsInvalid => handle == IntPtr.Zero;

    protected override bool ReleaseHandle()
    {
        NativeMethods.ft_tensor_free(handle);
        Interlocked.Decrement(ref live);
        return true;
    }
}

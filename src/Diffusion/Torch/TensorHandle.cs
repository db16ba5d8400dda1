using System.Runtime.InteropServices;

namespace Farm.Diffusion.Torch;

/// <summary>Owns one native at::Tensor; the finaliser is only a safety net, disposal is expected.</summary>
internal sealed class TensorHandle : SafeHandle
{
    public TensorHandle(IntPtr handle) : base(IntPtr.Zero, ownsHandle: true) => SetHandle(handle);

    public override bool IsInvalid => handle == IntPtr.Zero;

    protected override bool ReleaseHandle()
    {
        NativeMethods.ft_tensor_free(handle);
        return true;
    }
}

using System.Runtime.InteropServices;

namespace Farm.Diffusion.Torch;

/// <summary>The C ABI of libfarmtorch (src/Diffusion/native). Every int-returning call is checked with <see cref="Check"/>.</summary>
internal static partial class NativeMethods
{
    private const string Lib = "farmtorch";

    static NativeMethods()
    {
        NativeLibraryResolver.Register();
        KernelTuning.OpenCache();
    }

    internal static void Check(int status)
    {
        if (status == 0) return;
        throw new TorchException(LastError());
    }

    private static unsafe string LastError()
    {
        var length = ft_last_error(null, 0);
        var buffer = new byte[length + 1];
        fixed (byte* p = buffer) ft_last_error(p, buffer.Length);
        return System.Text.Encoding.UTF8.GetString(buffer, 0, length);
    }

    [DllImport(Lib)] internal static extern unsafe int ft_last_error(byte* buffer, int capacity);
    [DllImport(Lib)] internal static extern int ft_set_num_threads(int threads);
    [DllImport(Lib)] internal static extern int ft_get_num_threads();
    [DllImport(Lib)] internal static extern int ft_cuda_device_count();
    [DllImport(Lib, CharSet = CharSet.Ansi)] internal static extern int ft_tuning_open(string? path);
    [DllImport(Lib)] internal static extern int ft_tuning_count(out int count);
    [DllImport(Lib, CharSet = CharSet.Ansi)] internal static extern int ft_tuning_force(string kind, string? choice);
    [DllImport(Lib)] internal static extern unsafe int ft_torch_version(byte* buffer, int capacity);
    [DllImport(Lib)] internal static extern int ft_set_grad_enabled(int enabled);
    [DllImport(Lib)] internal static extern int ft_profiler_start([MarshalAs(UnmanagedType.LPUTF8Str)] string path);
    [DllImport(Lib)] internal static extern int ft_profiler_stop();

    [DllImport(Lib)] internal static extern void ft_tensor_free(IntPtr t);
    [DllImport(Lib)] internal static extern unsafe int ft_tensor_from_data(void* data, int dtype, long* shape, int ndim, out IntPtr result);
    [DllImport(Lib)] internal static extern unsafe int ft_tensor_full(long* shape, int ndim, double value, int dtype, int deviceType, int deviceIndex, out IntPtr result);
    [DllImport(Lib)] internal static extern unsafe int ft_tensor_empty(long* shape, int ndim, int dtype, int deviceType, int deviceIndex, out IntPtr result);
    [DllImport(Lib)] internal static extern int ft_tensor_arange(double start, double end, double step, int dtype, out IntPtr result);
    [DllImport(Lib)] internal static extern int ft_generator_new(ulong seed, out IntPtr generator);
    [DllImport(Lib)] internal static extern void ft_generator_free(IntPtr generator);
    [DllImport(Lib)] internal static extern unsafe int ft_tensor_randn(long* shape, int ndim, IntPtr generator, out IntPtr result);
    [DllImport(Lib)] internal static extern int ft_tensor_ndim(IntPtr t);
    [DllImport(Lib)] internal static extern unsafe int ft_tensor_shape(IntPtr t, long* shape);
    [DllImport(Lib)] internal static extern int ft_tensor_dtype(IntPtr t, out int dtype);
    [DllImport(Lib)] internal static extern int ft_tensor_device(IntPtr t, out int type, out int index);
    [DllImport(Lib)] internal static extern unsafe int ft_tensor_copy_to_host(IntPtr t, void* data, long bytes);
    [DllImport(Lib)] internal static extern int ft_tensor_to(IntPtr t, int dtype, int deviceType, int deviceIndex, out IntPtr result);
    [DllImport(Lib)] internal static extern int ft_tensor_contiguous(IntPtr t, out IntPtr result);
    [DllImport(Lib)] internal static extern int ft_tensor_clone(IntPtr t, out IntPtr result);
    [DllImport(Lib)] internal static extern int ft_tensor_copy_(IntPtr destination, IntPtr source);
    [DllImport(Lib)] internal static extern int ft_tensor_item(IntPtr t, out double value);

    [DllImport(Lib)] internal static extern unsafe int ft_tensor_reshape(IntPtr t, long* shape, int ndim, out IntPtr result);
    [DllImport(Lib)] internal static extern unsafe int ft_tensor_permute(IntPtr t, long* order, int ndim, out IntPtr result);
    [DllImport(Lib)] internal static extern int ft_tensor_transpose(IntPtr t, long dim0, long dim1, out IntPtr result);
    [DllImport(Lib)] internal static extern int ft_tensor_narrow(IntPtr t, long dim, long start, long length, out IntPtr result);
    [DllImport(Lib)] internal static extern int ft_tensor_select(IntPtr t, long dim, long index, out IntPtr result);
    [DllImport(Lib)] internal static extern int ft_tensor_unsqueeze(IntPtr t, long dim, out IntPtr result);
    [DllImport(Lib)] internal static extern unsafe int ft_tensor_expand(IntPtr t, long* shape, int ndim, out IntPtr result);
    [DllImport(Lib)] internal static extern unsafe int ft_tensor_cat(IntPtr* tensors, int count, long dim, out IntPtr result);
    [DllImport(Lib)] internal static extern int ft_tensor_index_select(IntPtr t, long dim, IntPtr index, out IntPtr result);

    [DllImport(Lib)] internal static extern int ft_tensor_unary(int op, IntPtr x, out IntPtr result);
    [DllImport(Lib)] internal static extern int ft_tensor_binary(int op, IntPtr a, IntPtr b, out IntPtr result);
    [DllImport(Lib)] internal static extern int ft_tensor_unary_(int op, IntPtr x);
    [DllImport(Lib)] internal static extern int ft_tensor_binary_(int op, IntPtr a, IntPtr b);
    [DllImport(Lib)] internal static extern int ft_tensor_scalar(int op, IntPtr a, double s, int scalarFirst, out IntPtr result);
    [DllImport(Lib)] internal static extern int ft_tensor_scalar_(int op, IntPtr a, double s);
    [DllImport(Lib)] internal static extern int ft_tensor_add_scaled(IntPtr a, IntPtr b, double alpha, out IntPtr result);
    [DllImport(Lib)] internal static extern int ft_tensor_clamp(IntPtr x, double min, double max, out IntPtr result);
    [DllImport(Lib)] internal static extern int ft_tensor_reduce(int op, IntPtr x, long dim, int keepdim, int all, out IntPtr result);
    [DllImport(Lib)] internal static extern int ft_tensor_where(IntPtr condition, IntPtr a, IntPtr b, out IntPtr result);
    [DllImport(Lib)] internal static extern int ft_tensor_compare_scalar(int op, IntPtr a, double s, out IntPtr result);

    [DllImport(Lib)] internal static extern int ft_nn_linear(IntPtr x, IntPtr weight, IntPtr bias, out IntPtr result);
    [DllImport(Lib)] internal static extern int ft_nn_conv2d(IntPtr x, IntPtr weight, IntPtr bias, long stride, long padding, out IntPtr result);
    [DllImport(Lib)] internal static extern int ft_nn_group_norm(IntPtr x, long groups, IntPtr weight, IntPtr bias, double eps, out IntPtr result);
    [DllImport(Lib)] internal static extern int ft_nn_layer_norm(IntPtr x, IntPtr weight, IntPtr bias, double eps, out IntPtr result);
    [DllImport(Lib)] internal static extern int ft_nn_softmax(IntPtr x, long dim, out IntPtr result);
    [DllImport(Lib)] internal static extern int ft_nn_bmm(IntPtr a, IntPtr b, out IntPtr result);
    [DllImport(Lib)] internal static extern int ft_nn_matmul(IntPtr a, IntPtr b, out IntPtr result);
    [DllImport(Lib)] internal static extern int ft_nn_baddbmm(IntPtr input, IntPtr a, IntPtr b, double beta, double alpha, out IntPtr result);
    [DllImport(Lib)] internal static extern int ft_nn_upsample_nearest(IntPtr x, long height, long width, out IntPtr result);
    [DllImport(Lib)] internal static extern int ft_nn_pad(IntPtr x, long left, long right, long top, long bottom, double value, out IntPtr result);
    [DllImport(Lib)] internal static extern int ft_nn_embedding(IntPtr weight, IntPtr ids, out IntPtr result);
    [DllImport(Lib)] internal static extern int ft_nn_attention(IntPtr q, IntPtr k, IntPtr v, double scale, long maxScoreBytes, out IntPtr result);
}

/// <summary>An error raised inside libtorch, carrying its message.</summary>
public sealed class TorchException(string message) : Exception(message);

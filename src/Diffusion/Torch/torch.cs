using System.Runtime.InteropServices;
using static Farm.Diffusion.Torch.NativeMethods;

#pragma warning disable CS8981 // lower-case names on purpose: the surface mirrors TorchSharp / PyTorch

namespace Farm.Diffusion.Torch;

/// <summary>Tensor creation and runtime settings, named as in TorchSharp's <c>torch</c> class.</summary>
public static partial class torch
{
    /// <summary>Opens a scope that disposes every tensor created on this thread until it is disposed.</summary>
    public static DisposeScope NewDisposeScope() => new();

    public static void set_num_threads(int threads) => Check(ft_set_num_threads(threads));

    public static int get_num_threads() => ft_get_num_threads();

    /// <summary>
    /// Records every libtorch op run on this thread until the returned handle is disposed, then writes them to
    /// <paramref name="path"/> as a chrome://tracing JSON file (libtorch's legacy profiler; for benchmarks only).
    /// </summary>
    public static IDisposable profile(string path)
    {
        Check(ft_profiler_start(path));
        return new ProfilerSession();
    }

    private sealed class ProfilerSession : IDisposable
    {
        private bool stopped;

        public void Dispose()
        {
            if (stopped) return;
            stopped = true;
            Check(ft_profiler_stop());
        }
    }

    /// <summary>The libtorch version the native library was built against, e.g. "1.13.1".</summary>
    public static unsafe string version
    {
        get
        {
            var buffer = new byte[64];
            fixed (byte* p = buffer)
            {
                var n = ft_torch_version(p, buffer.Length);
                return System.Text.Encoding.ASCII.GetString(buffer, 0, n);
            }
        }
    }

    public static class cuda
    {
        public static int device_count() => ft_cuda_device_count();

        public static bool is_available() => device_count() > 0;
    }

    /// <summary>A CPU tensor holding a copy of <paramref name="data"/>.</summary>
    public static unsafe Tensor from_bytes(ReadOnlySpan<byte> data, ScalarType type, params long[] shape)
    {
        long count = 1;
        foreach (var d in shape) count *= d;
        if (count * type.ElementSize() != data.Length)
            throw new ArgumentException($"{data.Length} bytes do not hold a {type.ShortName()} tensor of shape [{string.Join(", ", shape)}]");
        fixed (byte* p = data)
        fixed (long* s = shape)
            return Tensor.Wrap(ft_tensor_from_data(p, (int)type, s, shape.Length, out var r), r);
    }

    public static Tensor tensor(ReadOnlySpan<float> data, params long[] shape) => from_bytes(MemoryMarshal.AsBytes(data), ScalarType.Float32, shape);

    public static Tensor tensor(ReadOnlySpan<long> data, params long[] shape) => from_bytes(MemoryMarshal.AsBytes(data), ScalarType.Int64, shape);

    public static Tensor tensor(ReadOnlySpan<double> data, params long[] shape) => from_bytes(MemoryMarshal.AsBytes(data), ScalarType.Float64, shape);

    public static Tensor tensor(ReadOnlySpan<byte> data, params long[] shape) => from_bytes(data, ScalarType.UInt8, shape);

    /// <summary>A 0-d float32 tensor, as <c>torch.tensor(value)</c>.</summary>
    public static Tensor scalar(float value) => tensor([value]).reshape();

    public static unsafe Tensor full(long[] shape, double value, ScalarType type = ScalarType.Float32, Device? device = null)
    {
        var d = device ?? Device.Cpu;
        fixed (long* s = shape)
            return Tensor.Wrap(ft_tensor_full(s, shape.Length, value, (int)type, (int)d.Type, d.Index, out var r), r);
    }

    public static Tensor zeros(long[] shape, ScalarType type = ScalarType.Float32, Device? device = null) => full(shape, 0, type, device);

    public static Tensor ones(long[] shape, ScalarType type = ScalarType.Float32, Device? device = null) => full(shape, 1, type, device);

    public static unsafe Tensor empty(long[] shape, ScalarType type = ScalarType.Float32, Device? device = null)
    {
        var d = device ?? Device.Cpu;
        fixed (long* s = shape)
            return Tensor.Wrap(ft_tensor_empty(s, shape.Length, (int)type, (int)d.Type, d.Index, out var r), r);
    }

    public static Tensor arange(double start, double end, double step = 1, ScalarType type = ScalarType.Float32) =>
        Tensor.Wrap(ft_tensor_arange(start, end, step, (int)type, out var r), r);

    /// <summary>Standard normal float32 samples on the CPU, exactly as <c>torch.randn(shape, generator=g)</c>.</summary>
    public static unsafe Tensor randn(long[] shape, Generator generator)
    {
        fixed (long* s = shape)
            return Tensor.Wrap(ft_tensor_randn(s, shape.Length, generator.Handle, out var r), r);
    }

    public static unsafe Tensor cat(IReadOnlyList<Tensor> tensors, long dimension = 0)
    {
        var handles = new IntPtr[tensors.Count];
        for (var i = 0; i < handles.Length; i++) handles[i] = tensors[i].Handle;
        fixed (IntPtr* p = handles)
            return Tensor.Wrap(ft_tensor_cat(p, handles.Length, dimension, out var r), r);
    }

    public static Tensor where(Tensor condition, Tensor a, Tensor b) =>
        Tensor.Wrap(ft_tensor_where(condition.Handle, a.Handle, b.Handle, out var r), r);
}

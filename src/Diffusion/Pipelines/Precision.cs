using Farm.Diffusion.Torch;

namespace Farm.Diffusion.Pipelines;

/// <summary>Which dtype runs on which device. Unsupported pairs are an error, never a silent fallback.</summary>
internal static class Precision
{
    public static void EnsureSupported(Device device, ScalarType dtype)
    {
        if (dtype is not (ScalarType.Float32 or ScalarType.Float16 or ScalarType.BFloat16))
            throw new ArgumentException($"dtype {dtype.ShortName()} is not a model precision: use f32, f16 or bf16");
        if (device.Type == DeviceType.Cuda && !torch.cuda.is_available())
            throw new ArgumentException("device cuda: this libtorch build has no CUDA device; use --device cpu, or build libfarmtorch against a CUDA libtorch");
        if (device.Type == DeviceType.Cpu && dtype == ScalarType.Float16)
            throw new ArgumentException("dtype f16 is for CUDA: libtorch's CPU kernels lack half-precision convolution; use f32 or bf16 on cpu");
    }
}

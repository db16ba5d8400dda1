using Farm.Diffusion.Models;
using Farm.Diffusion.Torch;

namespace Farm.Diffusion.Weights;

/// <summary>Weights read from one memory-mapped safetensors file (F32, F16, BF16), converted on load.</summary>
internal sealed class SafetensorsWeights(SafetensorsFile file) : IWeightSource, IDisposable
{
    public static SafetensorsWeights Open(string path) => new(SafetensorsFile.Open(path));

    public string Description => file.Path;

    public IEnumerable<string> Keys => file.Tensors.Select(t => t.Name);

    public bool Contains(string key) => file.Contains(key);

    public long[] Shape(string key) => file[key].Shape;

    public Tensor Load(string key, ScalarType dtype, Device device)
    {
        using var raw = ReadRaw(file, key);
        file.ReleasePages(key);
        return raw.to(dtype, device).DetachFromDisposeScope();
    }

    /// <summary>A CPU tensor holding a copy of the stored values in their stored dtype.</summary>
    public static Tensor ReadRaw(SafetensorsFile file, string key)
    {
        var info = file[key];
        var type = info.DType switch
        {
            SafetensorsDType.F32 => ScalarType.Float32,
            SafetensorsDType.F16 => ScalarType.Float16,
            SafetensorsDType.BF16 => ScalarType.BFloat16,
            SafetensorsDType.F64 => ScalarType.Float64,
            SafetensorsDType.I64 => ScalarType.Int64,
            SafetensorsDType.I32 => ScalarType.Int32,
            SafetensorsDType.U8 => ScalarType.UInt8,
            SafetensorsDType.Bool => ScalarType.Bool,
            _ => throw new InvalidDataException($"{file.Path}: tensor '{key}' has dtype {info.DType}, which Farm cannot load"),
        };
        return torch.from_bytes(file.GetBytes(key), type, info.Shape);
    }

    public void Dispose() => file.Dispose();
}

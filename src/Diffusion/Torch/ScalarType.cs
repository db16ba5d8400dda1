namespace Farm.Diffusion.Torch;

/// <summary>Element types; the numeric values are the codes of the native ABI.</summary>
public enum ScalarType
{
    Float32 = 0,
    Float16 = 1,
    BFloat16 = 2,
    Int64 = 3,
    Int32 = 4,
    UInt8 = 5,
    Float64 = 6,
    Bool = 7,
}

public static class ScalarTypes
{
    public static int ElementSize(this ScalarType type) => type switch
    {
        ScalarType.Float32 or ScalarType.Int32 => 4,
        ScalarType.Float16 or ScalarType.BFloat16 => 2,
        ScalarType.Int64 or ScalarType.Float64 => 8,
        ScalarType.UInt8 or ScalarType.Bool => 1,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, null),
    };

    /// <summary>Parses the names people type: f32/float32, f16/float16/half, bf16/bfloat16.</summary>
    public static ScalarType ParseFloat(string name) => name.ToLowerInvariant() switch
    {
        "f32" or "float32" or "fp32" or "float" => ScalarType.Float32,
        "f16" or "float16" or "fp16" or "half" => ScalarType.Float16,
        "bf16" or "bfloat16" => ScalarType.BFloat16,
        _ => throw new ArgumentException($"unknown dtype '{name}': use f32, f16 or bf16"),
    };

    public static string ShortName(this ScalarType type) => type switch
    {
        ScalarType.Float32 => "f32",
        ScalarType.Float16 => "f16",
        ScalarType.BFloat16 => "bf16",
        _ => type.ToString().ToLowerInvariant(),
    };
}

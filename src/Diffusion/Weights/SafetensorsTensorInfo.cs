namespace Farm.Diffusion.Weights;

/// <summary>One tensor of a safetensors file; <see cref="FileOffset"/> is absolute within the file.</summary>
internal sealed record SafetensorsTensorInfo(string Name, SafetensorsDType DType, long[] Shape, long FileOffset, long ByteLength)
{
    public long ElementCount => Shape.Aggregate(1L, (a, b) => a * b);

    public override string ToString() => $"{Name}: {DType.HeaderName()}[{string.Join(", ", Shape)}]";
}

namespace Farm.Diffusion.Torch;

public enum DeviceType
{
    Cpu = 0,
    Cuda = 1,
}

/// <summary>Where tensors live: <c>cpu</c>, <c>cuda</c> or <c>cuda:N</c>.</summary>
public readonly record struct Device(DeviceType Type, int Index = 0)
{
    public static readonly Device Cpu = new(DeviceType.Cpu);

    public static Device Parse(string text)
    {
        var lower = text.Trim().ToLowerInvariant();
        if (lower == "cpu") return Cpu;
        if (lower == "cuda") return new Device(DeviceType.Cuda);
        if (lower.StartsWith("cuda:", StringComparison.Ordinal) && int.TryParse(lower.AsSpan(5), out var index) && index >= 0)
            return new Device(DeviceType.Cuda, index);
        throw new ArgumentException($"unknown device '{text}': use cpu, cuda or cuda:N");
    }

    public override string ToString() => Type == DeviceType.Cpu ? "cpu" : Index == 0 ? "cuda" : $"cuda:{Index}";
}

using Farm.Diffusion.Torch;

namespace Farm.Diffusion.Pipelines;

/// <summary>How a pipeline is loaded: where it runs, in which precision, with how many CPU threads.</summary>
public sealed record PipelineOptions
{
    public Device Device { get; init; } = Device.Cpu;

    public ScalarType DType { get; init; } = ScalarType.Float32;

    /// <summary>Intra-op CPU threads; null uses every core.</summary>
    public int? Threads { get; init; }
}

using Farm.Diffusion.Torch;

namespace Farm.Diffusion.Adapters;

/// <summary>
/// The LoRA of one module as stored in a file: CPU tensors in the file's dtype. <see cref="Alpha"/> is null when the
/// file stores none (diffusers format), which means alpha = rank (factor 1), as PEFT then uses.
/// </summary>
internal sealed record LoraModuleWeights(
    LoraComponent Component,
    LoraNaming Naming,
    string ModuleName,
    string DownKey,
    string UpKey,
    Tensor Down,
    Tensor Up,
    double? Alpha)
{
    public long Rank => Down.size(0);

    /// <summary>PEFT's scaling for this module: <c>weight · lora_alpha / r</c>, then <c>· scale</c> (in that order, float64).</summary>
    public double Factor(double weight, double scale) => weight * (Alpha ?? Rank) / Rank * scale;
}

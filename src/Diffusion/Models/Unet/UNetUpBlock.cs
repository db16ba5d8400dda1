using Farm.Diffusion.Torch;

namespace Farm.Diffusion.Models.Unet;

/// <summary>An up block of the UNet: consumes one skip connection per resnet, the last one first.</summary>
internal abstract class UNetUpBlock : Module
{
    public abstract int ResnetCount { get; }

    /// <param name="resHiddenStates">The skips for this block, in the order the down path produced them.</param>
    /// <param name="upsampleSize">Spatial size for the upsampler (the next skip's), or null for the last block.</param>
    public abstract Tensor Forward(
        Tensor hiddenStates, IReadOnlyList<Tensor> resHiddenStates, Tensor temb, Tensor encoderHiddenStates, (long Height, long Width)? upsampleSize);

    /// <summary>diffusers' get_up_block for the types Farm implements.</summary>
    public static UNetUpBlock Create(string type, UNetBlockSettings s) => type switch
    {
        "CrossAttnUpBlock2D" => new CrossAttnUpBlock2D(s),
        "UpBlock2D" => new UpBlock2D(s),
        _ => throw new NotSupportedException($"up block type '{type}' is not supported (CrossAttnUpBlock2D, UpBlock2D)"),
    };
}

using Farm.Diffusion.Torch;

namespace Farm.Diffusion.Models.Unet;

/// <summary>A down block of the UNet: appends every intermediate state (the skip connections) to <c>outputStates</c>.</summary>
internal abstract class UNetDownBlock : Module
{
    /// <returns>The block's output (also the last state appended).</returns>
    public abstract Tensor Forward(Tensor hiddenStates, Tensor temb, Tensor encoderHiddenStates, List<Tensor> outputStates);

    /// <summary>diffusers' get_down_block for the types Farm implements.</summary>
    public static UNetDownBlock Create(string type, UNetBlockSettings s) => type switch
    {
        "CrossAttnDownBlock2D" => new CrossAttnDownBlock2D(s),
        "DownBlock2D" => new DownBlock2D(s),
        _ => throw new NotSupportedException($"down block type '{type}' is not supported (CrossAttnDownBlock2D, DownBlock2D)"),
    };
}

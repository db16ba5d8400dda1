namespace Farm.Diffusion.Adapters;

/// <summary>The pipeline component a LoRA module belongs to.</summary>
internal enum LoraComponent
{
    Unet,
    /// <summary><c>text_encoder</c>: kohya <c>lora_te_</c> / <c>lora_te1_</c>, diffusers <c>text_encoder.</c>.</summary>
    TextEncoder,
    /// <summary>SDXL's <c>text_encoder_2</c>: kohya <c>lora_te2_</c>, diffusers <c>text_encoder_2.</c>.</summary>
    TextEncoder2,
}

internal static class LoraComponentNames
{
    public static string Name(this LoraComponent component) => component switch
    {
        LoraComponent.Unet => "unet",
        LoraComponent.TextEncoder => "text_encoder",
        LoraComponent.TextEncoder2 => "text_encoder_2",
        _ => throw new ArgumentOutOfRangeException(nameof(component)),
    };
}

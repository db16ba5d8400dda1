using Farm.Diffusion.Models;

namespace Farm.Diffusion.Adapters;

/// <summary>One LoRA of a render with its adapter weight (diffusers' <c>set_adapters</c> weight, A1111's multiplier).</summary>
internal sealed record LoraActivation(LoraFile File, double Weight = 1.0);

/// <summary>The models LoRA files are applied to; a component the family lacks is null (SD1 has no text_encoder_2).</summary>
internal sealed record LoraModels(Module Unet, Module? TextEncoder, Module? TextEncoder2 = null)
{
    public Module? For(LoraComponent component) => component switch
    {
        LoraComponent.Unet => Unet,
        LoraComponent.TextEncoder => TextEncoder,
        LoraComponent.TextEncoder2 => TextEncoder2,
        _ => null,
    };
}

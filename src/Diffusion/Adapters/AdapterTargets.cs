using Farm.Diffusion.Models;
using Farm.Diffusion.Tokenization;

namespace Farm.Diffusion.Adapters;

/// <summary>
/// The loaded models of a pipeline that adapters attach to: the UNet and the text encoder(s) with their tokenizers,
/// in diffusers' order (<c>text_encoder</c>, then SDXL's <c>text_encoder_2</c>).
/// </summary>
internal sealed record AdapterTargets(Module Unet, IReadOnlyList<TextEncoderTarget> TextEncoders)
{
    public LoraModels LoraModels => new(Unet, TextEncoders.ElementAtOrDefault(0)?.Model, TextEncoders.ElementAtOrDefault(1)?.Model);
}

/// <summary>A text encoder (CLIPTextModel or a model built on the same CLIP text embeddings) and the tokenizer that feeds it.</summary>
internal sealed record TextEncoderTarget(Module Model, ClipTokenizer Tokenizer);

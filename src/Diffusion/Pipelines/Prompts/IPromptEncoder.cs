using Farm.Diffusion.Adapters;

namespace Farm.Diffusion.Pipelines.Prompts;

/// <summary>A model family's prompt encoding (diffusers' <c>encode_prompt</c> plus, for SDXL, the added conditions); owns its tokenizers and text encoders.</summary>
internal interface IPromptEncoder : IDisposable
{
    /// <summary>The conditioning for one render; tensors land in the caller's dispose scope.</summary>
    PromptConditioning Encode(PromptInputs inputs);

    /// <summary>The text encoders with their tokenizers, in diffusers' order, for LoRAs and embeddings to attach to.</summary>
    IReadOnlyList<TextEncoderTarget> TextEncoders { get; }
}

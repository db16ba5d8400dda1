using Farm.Diffusion.Models.Unet;
using Farm.Diffusion.Torch;

namespace Farm.Diffusion.Pipelines.Prompts;

/// <summary>
/// The text conditioning of a render as the UNet takes it: <c>encoder_hidden_states</c> [B', 77, D] and, for SDXL,
/// the added conditions; with guidance B' = 2B, uncond rows first. Owned by the caller (or its dispose scope).
/// </summary>
internal sealed record PromptConditioning(Tensor EncoderHiddenStates, AddedConditions? Added) : IDisposable
{
    public void Dispose()
    {
        EncoderHiddenStates.Dispose();
        Added?.Dispose();
    }
}

using Farm.Diffusion.Torch;

namespace Farm.Diffusion.Models.Unet;

/// <summary>
/// diffusers' <c>added_cond_kwargs</c> for <c>addition_embed_type: "text_time"</c> (SDXL): the pooled, projected
/// text embedding [B, projection_dim] and the micro-conditioning ids [B, 6] (original h, w, crop top, left, target
/// h, w, in pixels). Owned by whoever made it.
/// </summary>
internal sealed record AddedConditions(Tensor TextEmbeds, Tensor TimeIds) : IDisposable
{
    public void Dispose()
    {
        TextEmbeds.Dispose();
        TimeIds.Dispose();
    }
}

namespace Farm.Diffusion.Models.Loading;

/// <summary>The model families Farm loads: the text encoders, UNet conditioning and default configs differ per family.</summary>
internal enum ModelFamily
{
    /// <summary>Stable Diffusion 1.x: one CLIP ViT-L text encoder (Hugging Face names in single files).</summary>
    SD1,

    /// <summary>Stable Diffusion 2.x: one OpenCLIP ViT-H text encoder (OpenCLIP names in single files).</summary>
    SD2,

    /// <summary>Stable Diffusion XL (base): CLIP ViT-L plus OpenCLIP ViT-bigG with projection, text-time conditioning.</summary>
    SDXL,
}

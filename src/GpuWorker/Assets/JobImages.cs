using Farm.Diffusion.Imaging;

namespace Farm.GpuWorker.Assets;

/// <summary>A job's decoded input images: none for txt2img, an init image for img2img, and a mask as well for inpainting.</summary>
public sealed record JobImages(RgbImage? Init, RgbImage? Mask)
{
    public static readonly JobImages None = new(null, null);
}

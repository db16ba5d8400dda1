using System.Security.Cryptography;
using Farm.Diffusion.Imaging;
using Farm.Diffusion.Torch;

namespace Farm.Diffusion.Pipelines;

/// <summary>Conversions between decoded VAE output and 8-bit images, as diffusers' postprocess + numpy_to_pil.</summary>
internal static class ImageTensors
{
    /// <summary>[B,3,H,W] in [-1, 1] → [B,H,W,3] uint8: (x/2+0.5).clamp(0,1), then (·255).round().</summary>
    public static Tensor ToUInt8(Tensor decoded)
    {
        using var scope = torch.NewDisposeScope();
        var unit = (decoded / 2.0 + 0.5).clamp(0, 1).permute(0, 2, 3, 1).to(Device.Cpu);
        var bytes = (unit * 255.0).round().to(ScalarType.UInt8).contiguous();
        return scope.MoveToOuter(bytes);
    }

    public static IReadOnlyList<RgbImage> ToImages(Tensor nhwcBytes)
    {
        var all = nhwcBytes.ToArray<byte>();
        var (batch, height, width, channels) = ((int)nhwcBytes.size(0), (int)nhwcBytes.size(1), (int)nhwcBytes.size(2), (int)nhwcBytes.size(3));
        var perImage = height * width * channels;
        return Enumerable.Range(0, batch).Select(i => new RgbImage(width, height, channels, all.AsSpan(i * perImage, perImage).ToArray())).ToList();
    }

    /// <summary>Short content hash of an input image, recorded in metadata so img2img results can be traced to their source.</summary>
    public static string Hash(RgbImage image) => Convert.ToHexStringLower(SHA256.HashData(image.Pixels))[..10];
}

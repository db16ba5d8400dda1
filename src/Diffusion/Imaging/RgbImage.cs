namespace Farm.Diffusion.Imaging;

/// <summary>
/// An 8-bit image, row-major HWC (the layout of diffusers' <c>image_uint8</c>). Channels: 1 gray,
/// 2 gray+alpha, 3 RGB, 4 RGBA.
/// </summary>
public sealed class RgbImage
{
    public int Width { get; }
    public int Height { get; }
    public int Channels { get; }
    public byte[] Pixels { get; }

    public RgbImage(int width, int height, int channels, byte[] pixels)
    {
        if (width <= 0 || height <= 0) throw new ArgumentOutOfRangeException(nameof(width), $"image size {width}x{height} must be positive");
        if (channels is < 1 or > 4) throw new ArgumentOutOfRangeException(nameof(channels), channels, "1 to 4 channels");
        if (pixels.Length != (long)width * height * channels)
            throw new ArgumentException($"{pixels.Length} bytes given, {width}x{height}x{channels} needs {(long)width * height * channels}", nameof(pixels));
        Width = width;
        Height = height;
        Channels = channels;
        Pixels = pixels;
    }

    public RgbImage(int width, int height, int channels)
        : this(width, height, channels, new byte[checked(width * height * channels)])
    {
    }

    public int Stride => Width * Channels;
}

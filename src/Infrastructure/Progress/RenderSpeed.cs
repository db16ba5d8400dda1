namespace Farm.Infrastructure.Progress;

/// <summary>How a model's render speed is measured and averaged: seconds per megapixel per denoising step.</summary>
public static class RenderSpeed
{
    /// <summary>Weight of the newest job in the moving average: recent jobs count most, one odd job little.</summary>
    public const double NewestWeight = 0.2;

    public static double Of(double seconds, int images, int width, int height, int steps) =>
        seconds / (images * (width * (double)height / 1e6) * Math.Max(1, steps));

    public static double Fold(double? average, double sample) => average is { } a ? a + NewestWeight * (sample - a) : sample;
}

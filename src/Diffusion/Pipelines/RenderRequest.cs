using Farm.Diffusion.Imaging;

namespace Farm.Diffusion.Pipelines;

/// <summary>
/// What to render: one image per seed, all sharing every other parameter (so they run as one UNet batch).
/// With <see cref="InitImage"/> it is img2img; with a <see cref="Mask"/> as well, inpainting (white = repaint).
/// </summary>
public sealed record RenderRequest
{
    public required string Prompt { get; init; }

    public string NegativePrompt { get; init; } = "";

    public required IReadOnlyList<long> Seeds { get; init; }

    public int Steps { get; init; } = 20;

    public double GuidanceScale { get; init; } = 7.5;

    /// <summary>A scheduler's common name: ddim, pndm, lms, euler, euler-a, dpm++2m, dpm++2m-karras, ddpm, heun, unipc.</summary>
    public string Scheduler { get; init; } = "euler-a";

    /// <summary>Pixels, a multiple of 8; null takes the init image's size, else the model's default.</summary>
    public int? Width { get; init; }

    public int? Height { get; init; }

    public RgbImage? InitImage { get; init; }

    public RgbImage? Mask { get; init; }

    /// <summary>How much of the schedule img2img/inpainting runs, in (0, 1].</summary>
    public double Strength { get; init; } = 0.8;
}

/// <summary>One finished image and everything needed to reproduce it.</summary>
public sealed record RenderedImage(long Seed, RgbImage Image, GenerationMetadata Metadata);

/// <summary>Reported after each denoising step; the callback returns false to stop the render.</summary>
public readonly record struct StepProgress(int Step, int TotalSteps, TimeSpan Elapsed);

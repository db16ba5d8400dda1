using Farm.Diffusion.Imaging;

namespace Farm.Diffusion.Pipelines;

/// <summary>
/// What to render: one image per seed, all sharing every other parameter (so they run as one UNet batch).
/// With <see cref="InitImage"/> it is img2img; with a <see cref="Mask"/> as well, inpainting (white = repaint).
/// </summary>
public sealed record RenderRequest
{
    public required string Prompt { get; init; }

    /// <summary>
    /// diffusers' <c>negative_prompt</c>; null = not given. SD1.x/2.x encode "" for it; SDXL (with guidance and
    /// <c>force_zeros_for_empty_prompt</c>) uses zero embeddings, while "" encodes the empty string.
    /// </summary>
    public string? NegativePrompt { get; init; }

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

    /// <summary>SDXL: the prompt for the second text encoder (tokenizer_2); null or empty uses <see cref="Prompt"/>, as diffusers.</summary>
    public string? Prompt2 { get; init; }

    /// <summary>SDXL: the negative prompt for the second text encoder; null or empty uses the first negative prompt, as diffusers.</summary>
    public string? NegativePrompt2 { get; init; }

    /// <summary>diffusers' <c>clip_skip</c>: 0 uses the last layer; 1 the one before it (A1111's "Clip skip: 2").</summary>
    public int ClipSkip { get; init; }

    /// <summary>LoRA files applied for this render only, each with its own scale; the base weights are never changed.</summary>
    public IReadOnlyList<LoraReference> Loras { get; init; } = [];

    /// <summary>Textual-inversion embeddings available to the prompts of this render.</summary>
    public IReadOnlyList<EmbeddingReference> Embeddings { get; init; } = [];
}

/// <summary>
/// A LoRA file (kohya/A1111 or diffusers format) and its strength (diffusers' <c>cross_attention_kwargs["scale"]</c>);
/// <paramref name="Name"/> is what the image metadata calls it (the file stem unless given).
/// </summary>
public sealed record LoraReference(string Path, double Scale = 1.0, string? Name = null);

/// <summary>A textual-inversion file (A1111 .pt/.safetensors, diffusers learned_embeds); the token is the file stem unless given.</summary>
public sealed record EmbeddingReference(string Path, string? Token = null);

/// <summary>One finished image and everything needed to reproduce it.</summary>
public sealed record RenderedImage(long Seed, RgbImage Image, GenerationMetadata Metadata);

/// <summary>Reported after each denoising step; the callback returns false to stop the render.</summary>
public readonly record struct StepProgress(int Step, int TotalSteps, TimeSpan Elapsed);

namespace Farm.Shared.Contracts;

/// <summary>
/// Render these seeds with otherwise identical parameters (one UNet batch). Image i of the job has the
/// sweep index <c>FirstImageIndex + i</c>; keys in the bucket follow from that (<see cref="Layout.StorageKeys"/>).
/// An empty <see cref="NegativePrompt"/> means none (SDXL then uses zero embeddings, as diffusers does).
/// <see cref="Loras"/> and <see cref="Embeddings"/> name files of the worker's <c>loras/</c> and <c>embeddings/</c>
/// folders by stem; <see cref="Prompt2"/> / <see cref="NegativePrompt2"/> are SDXL's second-encoder prompts.
/// With <see cref="InitAsset"/> (an asset id, <c>assets/&lt;id&gt;.png</c> in the bucket) the job is img2img at
/// <see cref="Strength"/>; with <see cref="MaskAsset"/> as well, inpainting. <see cref="Cache"/> false (the spec's <c>cache: false</c>)
/// renders every image even when the render cache holds it.
/// </summary>
public sealed record RenderJob(
    string SweepId,
    long JobIndex,
    string Model,
    string Prompt,
    string NegativePrompt,
    int Steps,
    double GuidanceScale,
    string Scheduler,
    int Width,
    int Height,
    long FirstImageIndex,
    long[] Seeds,
    string? Prompt2 = null,
    string? NegativePrompt2 = null,
    int ClipSkip = 0,
    JobLora[]? Loras = null,
    string[]? Embeddings = null,
    string? InitAsset = null,
    string? MaskAsset = null,
    double? Strength = null,
    bool Cache = true);

/// <summary>A LoRA of the worker's <c>loras/</c> folder, by file stem, and its strength.</summary>
public sealed record JobLora(string Name, double Scale);

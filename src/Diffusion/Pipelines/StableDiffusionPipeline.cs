namespace Farm.Diffusion.Pipelines;

/// <summary>
/// A warm Stable Diffusion pipeline (text encoder, UNet, VAE, tokenizer) loaded once from a diffusers folder.
/// One render at a time per instance.
/// </summary>
public sealed class StableDiffusionPipeline : IDisposable
{
    private StableDiffusionPipeline(string modelDir) => ModelDir = modelDir;

    public string ModelDir { get; }

    /// <summary>The folder name, which is the name workers announce.</summary>
    public string ModelName => Path.GetFileName(Path.TrimEndingDirectorySeparator(ModelDir));

    public string ModelHash => throw new NotImplementedException("engine pipeline lands with the engine core issue");

    public static StableDiffusionPipeline Load(string modelDir, PipelineOptions? options = null) =>
        throw new NotImplementedException("engine pipeline lands with the engine core issue");

    /// <summary>Renders one image per seed; throws OperationCanceledException when the callback returns false or the token fires.</summary>
    public IReadOnlyList<RenderedImage> Render(RenderRequest request, Func<StepProgress, bool>? onStep = null, CancellationToken cancellation = default) =>
        throw new NotImplementedException("engine pipeline lands with the engine core issue");

    public void Dispose()
    {
    }
}

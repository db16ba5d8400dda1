using Farm.Diffusion.Pipelines;
using Farm.Shared.Contracts;

namespace Farm.GpuWorker.Rendering;

/// <summary>The engine's <see cref="StableDiffusionPipeline"/>, loaded once and kept warm.</summary>
internal sealed class PipelineRenderer(StableDiffusionPipeline pipeline) : IImageRenderer
{
    public string ModelName => pipeline.ModelName;

    public IReadOnlyList<RenderedImage> Render(RenderJob job, Func<int, int, bool> onStep, CancellationToken cancellation)
    {
        var request = new RenderRequest
        {
            Prompt = job.Prompt,
            NegativePrompt = job.NegativePrompt,
            Seeds = job.Seeds,
            Steps = job.Steps,
            GuidanceScale = job.GuidanceScale,
            Scheduler = job.Scheduler,
            Width = job.Width,
            Height = job.Height,
        };
        return pipeline.Render(request, p => onStep(p.Step, p.TotalSteps), cancellation);
    }

    public void Dispose() => pipeline.Dispose();
}

/// <summary>
/// Models from a folder of diffusers-layout folders (a folder holding <c>model_index.json</c>); the folder's
/// name is the model's name.
/// </summary>
internal sealed class ModelFolderRendererFactory(string modelsDir, PipelineOptions options) : IRendererFactory
{
    public IReadOnlyList<string> Models { get; } = Directory.Exists(modelsDir)
        ? Directory.EnumerateDirectories(modelsDir)
            .Where(d => File.Exists(Path.Combine(d, "model_index.json")))
            .Select(Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal).ToList()
        : [];

    public IImageRenderer Load(string model)
    {
        if (!Models.Contains(model)) throw new RenderRejectedException($"model '{model}' is not in {modelsDir}");
        try
        {
            return new PipelineRenderer(StableDiffusionPipeline.Load(Path.Combine(modelsDir, model), options));
        }
        catch (Exception e) when (e is IOException or InvalidDataException or ArgumentException or NotImplementedException or NotSupportedException or KeyNotFoundException)
        {
            throw new RenderRejectedException($"model '{model}' does not load: {e.Message}", e);
        }
    }
}

using Farm.Diffusion;
using Farm.Diffusion.Pipelines;
using Farm.GpuWorker.Models;
using Farm.Shared.Contracts;

namespace Farm.GpuWorker.Rendering;

/// <summary>The engine's <see cref="StableDiffusionPipeline"/>, loaded once and kept warm; LoRAs and embeddings change per job.</summary>
internal sealed class PipelineRenderer(StableDiffusionPipeline pipeline, AdapterLibrary adapters) : IImageRenderer
{
    public string ModelName => pipeline.ModelName;

    public IReadOnlyList<RenderedImage> Render(RenderJob job, Assets.JobImages images, Func<int, int, bool> onStep, CancellationToken cancellation)
    {
        var request = new RenderRequest
        {
            Prompt = job.Prompt,
            NegativePrompt = string.IsNullOrEmpty(job.NegativePrompt) ? null : job.NegativePrompt,
            Prompt2 = job.Prompt2,
            NegativePrompt2 = job.NegativePrompt2,
            Seeds = job.Seeds,
            Steps = job.Steps,
            GuidanceScale = job.GuidanceScale,
            Scheduler = job.Scheduler,
            Width = job.Width,
            Height = job.Height,
            ClipSkip = job.ClipSkip,
            Loras = adapters.Loras(job.Loras),
            Embeddings = adapters.Embeddings(job.Embeddings),
            InitImage = images.Init,
            Mask = images.Mask,
            Strength = job.Strength ?? Shared.Sweeps.SweepSpec.DefaultStrength,
        };
        try
        {
            return pipeline.Render(request, p => onStep(p.Step, p.TotalSteps), cancellation);
        }
        catch (Exception e) when (e is InvalidDataException or FileNotFoundException)
        {
            // A LoRA or embedding that does not fit this model, or a broken adapter file: no retry can fix it.
            throw new RenderRejectedException(e.Message, e);
        }
    }

    public void Dispose() => pipeline.Dispose();
}

/// <summary>The models of a <see cref="ModelLibrary"/>: diffusers folders and single checkpoints, by name.</summary>
internal sealed class ModelLibraryRendererFactory(ModelLibrary library, PipelineOptions options) : IRendererFactory
{
    public ModelLibraryRendererFactory(string modelsDir, PipelineOptions options) : this(ModelLibrary.Scan(modelsDir), options)
    {
    }

    public IReadOnlyList<string> Models { get; } = library.Names;

    public string Renderer => EngineInfo.EngineName;

    public IReadOnlyList<WorkerModel> Describe() => library.Describe();

    public WorkerAdapters Adapters() => library.Adapters.Names();

    public async Task<string?> InputsIdentityAsync(RenderJob job, CancellationToken cancellation) =>
        library.Contains(job.Model)
            ? await RenderInputs.OfEngineAsync(await library[job.Model].Sha256.WaitAsync(cancellation), library.Adapters, options, job, cancellation)
            : null;

    public IImageRenderer Load(string model)
    {
        if (!library.Contains(model)) throw new RenderRejectedException($"model '{model}' is not in {library.Directory}");
        var served = library[model];
        try
        {
            return new PipelineRenderer(StableDiffusionPipeline.Load(served.Path, options, served.ConfigDirectory), library.Adapters);
        }
        catch (Exception e) when (e is IOException or InvalidDataException or ArgumentException or NotImplementedException or NotSupportedException or KeyNotFoundException)
        {
            throw new RenderRejectedException($"model '{model}' does not load: {e.Message}", e);
        }
    }
}

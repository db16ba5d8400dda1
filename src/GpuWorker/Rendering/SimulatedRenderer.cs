using Farm.Diffusion.Imaging;
using Farm.Diffusion.Pipelines;
using Farm.Shared.Contracts;

namespace Farm.GpuWorker.Rendering;

/// <summary>
/// <c>--renderer simulated[:MS_PER_STEP]</c>: serves the named models without any model file, for farm tests and
/// benchmarks. It takes the job's steps as the engine does (cancellation checked before each step, the step callback
/// after it, which may stop the render), then returns one flat image per seed with the full generation metadata,
/// marked <c>"renderer": "simulated"</c> so its output can never be taken for a real render.
/// </summary>
internal sealed class SimulatedRendererFactory(IReadOnlyList<string> models, TimeSpan stepDelay, string device) : IRendererFactory
{
    public const string Name = "simulated";

    public IReadOnlyList<string> Models { get; } = models;

    public string Renderer => Name;

    public IReadOnlyList<WorkerModel> Describe() => Models.Select(m => new WorkerModel(m, Name, null)).ToList();

    /// <summary>No model file: the model's name stands for its hash, and adapters (any name is taken) by their names.</summary>
    public Task<string?> InputsIdentityAsync(RenderJob job, CancellationToken cancellation) =>
        Task.FromResult(Models.Contains(job.Model)
            ? RenderInputs.Describe(Name, $"{Name}:{job.Model}", (job.Loras ?? []).Select(l => $"lora={l.Name}"), (job.Embeddings ?? []).Select(e => $"embedding={e}"))
            : null);

    public IImageRenderer Load(string model)
    {
        if (!Models.Contains(model)) throw new RenderRejectedException($"model '{model}' is not served by this simulated worker");
        return new SimulatedRenderer(model, stepDelay, device);
    }
}

internal sealed class SimulatedRenderer(string model, TimeSpan stepDelay, string device) : IImageRenderer
{
    public string ModelName => model;

    public IReadOnlyList<RenderedImage> Render(RenderJob job, Assets.JobImages images, Func<int, int, bool> onStep, CancellationToken cancellation)
    {
        // As the engine does: an init image and a mask must have the render's size.
        if (images.Init is { } init && (init.Width != job.Width || init.Height != job.Height))
            throw new ArgumentException($"init image: is {init.Width}x{init.Height} but the render is {job.Width}x{job.Height}");
        if (images.Mask is { } mask && images.Init is { } i && (mask.Width != i.Width || mask.Height != i.Height))
            throw new ArgumentException($"mask: is {mask.Width}x{mask.Height} but the init image is {i.Width}x{i.Height}");
        for (var step = 1; step <= job.Steps; step++)
        {
            cancellation.ThrowIfCancellationRequested();
            if (stepDelay > TimeSpan.Zero) cancellation.WaitHandle.WaitOne(stepDelay);
            cancellation.ThrowIfCancellationRequested();
            if (!onStep(step, job.Steps)) throw new OperationCanceledException("render stopped by its step callback");
        }
        return job.Seeds.Select(seed => new RenderedImage(seed, FlatImage(job.Width, job.Height, seed), Metadata(job, images, seed))).ToList();
    }

    /// <summary>One colour chosen by the seed: a valid PNG of the requested size that compresses to a few hundred bytes.</summary>
    private static RgbImage FlatImage(int width, int height, long seed)
    {
        var colour = new byte[3];
        new Random(unchecked((int)(seed ^ (seed >> 32)))).NextBytes(colour);
        var pixels = new byte[checked(width * height * 3)];
        for (var i = 0; i < pixels.Length; i += 3)
        {
            pixels[i] = colour[0];
            pixels[i + 1] = colour[1];
            pixels[i + 2] = colour[2];
        }
        return new RgbImage(width, height, 3, pixels);
    }

    private GenerationMetadata Metadata(RenderJob job, Assets.JobImages images, long seed) => new()
    {
        Prompt = job.Prompt,
        NegativePrompt = job.NegativePrompt,
        Steps = job.Steps,
        Sampler = job.Scheduler,
        CfgScale = job.GuidanceScale,
        Seed = seed,
        Width = job.Width,
        Height = job.Height,
        ModelName = model,
        EngineVersion = SimulatedRendererFactory.Name,
        Renderer = SimulatedRendererFactory.Name,
        Device = device,
        Prompt2 = string.IsNullOrEmpty(job.Prompt2) ? null : job.Prompt2,
        NegativePrompt2 = string.IsNullOrEmpty(job.NegativePrompt2) ? null : job.NegativePrompt2,
        ClipSkip = job.ClipSkip == 0 ? null : job.ClipSkip,
        Strength = images.Init is null ? null : job.Strength,
        InitImageHash = images.Init is null ? null : Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(images.Init.Pixels))[..10],
        Masked = images.Mask is null ? null : true,
    };

    public void Dispose()
    {
    }
}

using Farm.Diffusion.Pipelines;
using Farm.GpuWorker.Assets;
using Farm.Shared.Contracts;

namespace Farm.GpuWorker.Rendering;

/// <summary>
/// One warm model, rendering one job at a time. The product uses <see cref="PipelineRenderer"/> (the engine);
/// the seam lets the worker's messaging, idempotency and storage be tested without the engine's cost.
/// </summary>
public interface IImageRenderer : IDisposable
{
    string ModelName { get; }

    /// <summary>
    /// Renders every seed of the job as one batch, from <paramref name="images"/> when the job is img2img or inpainting;
    /// <paramref name="onStep"/> (step, total) returning false stops it.
    /// </summary>
    IReadOnlyList<RenderedImage> Render(RenderJob job, JobImages images, Func<int, int, bool> onStep, CancellationToken cancellation);
}

/// <summary>Which models a worker can serve, and how to load one.</summary>
public interface IRendererFactory
{
    IReadOnlyList<string> Models { get; }

    /// <summary>What renders, announced in heartbeats: <c>farm-engine</c> for the real one, <c>simulated</c> for the test renderer.</summary>
    string Renderer { get; }

    /// <summary>Family and hash of each model, announced in heartbeats; empty when the factory cannot tell.</summary>
    IReadOnlyList<WorkerModel> Describe() => [];

    /// <summary>The adapters it has, announced in heartbeats; null when it takes any name (nothing to check).</summary>
    WorkerAdapters? Adapters() => null;

    /// <summary>
    /// What, besides the job's own parameters, decides its pixels: the SHA-256 of the model's weights and of each adapter
    /// the job names, the engine version and the precision (<see cref="Results.ImageIdentity"/> hashes it with the parameters).
    /// Null when the factory cannot tell (an unknown model or adapter): the job's images are then neither served from the
    /// render cache nor added to it.
    /// </summary>
    Task<string?> InputsIdentityAsync(RenderJob job, CancellationToken cancellation) => Task.FromResult<string?>(null);

    /// <summary>Loads a model; throws <see cref="RenderRejectedException"/> when it cannot be loaded at all.</summary>
    IImageRenderer Load(string model);
}

/// <summary>A job that no retry can fix (bad parameters, a model that does not load): it is marked failed, not retried.</summary>
public sealed class RenderRejectedException(string message, Exception? inner = null) : Exception(message, inner);

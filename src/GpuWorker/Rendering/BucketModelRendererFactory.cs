using Farm.Diffusion;
using Farm.Diffusion.Pipelines;
using Farm.GpuWorker.Models;
using Farm.Shared.Contracts;

namespace Farm.GpuWorker.Rendering;

/// <summary>
/// The engine on the models of the local <c>--models</c> folder and, for the others, on the bucket's models
/// (<c>--models-from-bucket</c>): a bucket model is downloaded and verified by <see cref="ModelCache"/> on its first job.
/// A local model of the same name wins.
/// </summary>
internal sealed class BucketModelRendererFactory(ModelLibrary local, ModelCache cache, IReadOnlyList<ModelManifest> bucketModels, PipelineOptions options)
    : IRendererFactory
{
    private readonly Dictionary<string, ModelManifest> remote = bucketModels.Where(m => !local.Contains(m.Name)).ToDictionary(m => m.Name, StringComparer.Ordinal);

    public IReadOnlyList<string> Models => [.. local.Names.Concat(remote.Keys).Order(StringComparer.Ordinal)];

    public string Renderer => EngineInfo.EngineName;

    public IReadOnlyList<WorkerModel> Describe() =>
        [.. local.Describe().Concat(remote.Values.Select(m => new WorkerModel(m.Name, m.Family, m.WeightsSha256))).OrderBy(m => m.Name, StringComparer.Ordinal)];

    public WorkerAdapters Adapters() => local.Adapters.Names();

    /// <summary>A bucket model's weights hash is its manifest's, so a model not downloaded yet can serve cached images.</summary>
    public Task<string?> InputsIdentityAsync(RenderJob job, CancellationToken cancellation) =>
        local.Contains(job.Model) || !remote.TryGetValue(job.Model, out var manifest)
            ? new ModelLibraryRendererFactory(local, options).InputsIdentityAsync(job, cancellation)
            : RenderInputs.OfEngineAsync(manifest.WeightsSha256, local.Adapters, options, job, cancellation);

    public IImageRenderer Load(string model)
    {
        if (local.Contains(model) || !remote.TryGetValue(model, out var manifest)) return new ModelLibraryRendererFactory(local, options).Load(model);
        try
        {
            cache.EnsureAsync(manifest, CancellationToken.None).GetAwaiter().GetResult();
        }
        catch (Exception e) when (e is InvalidDataException or IOException or UnauthorizedAccessException)
        {
            throw new RenderRejectedException($"model '{model}' from the bucket: {e.Message}", e);
        }
        return new ModelLibraryRendererFactory(ModelLibrary.Scan(cache.Root), options).Load(model);
    }
}

using Farm.Diffusion.Pipelines;

namespace Farm.Diffusion.Tests.Sdxl;

/// <summary>The sdxl-tiny pipeline, loaded once for the SDXL pipeline tests (2 threads, as the fixtures were made).</summary>
public sealed class SdxlPipelineFixture : IDisposable
{
    private readonly Lazy<StableDiffusionPipeline> pipeline = new(() =>
        StableDiffusionPipeline.Load(SdxlModel.Dir, new PipelineOptions { Threads = 2 }));

    internal StableDiffusionPipeline Pipeline => pipeline.Value;

    public void Dispose()
    {
        if (pipeline.IsValueCreated) pipeline.Value.Dispose();
    }
}

[CollectionDefinition(Name)]
public sealed class SdxlPipelineCollection : ICollectionFixture<SdxlPipelineFixture>
{
    public const string Name = "sdxl tiny pipeline";
}

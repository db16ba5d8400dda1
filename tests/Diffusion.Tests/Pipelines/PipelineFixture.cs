using Farm.Diffusion.Pipelines;
using Farm.Testing;

namespace Farm.Diffusion.Tests.Pipelines;

/// <summary>The fixture's tiny pipeline, loaded once for the pipeline tests (2 threads, as the fixtures were made).</summary>
public sealed class PipelineFixture : IDisposable
{
    private readonly Lazy<StableDiffusionPipeline> pipeline = new(() =>
        StableDiffusionPipeline.Load(Fixtures.ModelDir, new PipelineOptions { Threads = 2 }));

    internal StableDiffusionPipeline Pipeline => pipeline.Value;

    public void Dispose()
    {
        if (pipeline.IsValueCreated) pipeline.Value.Dispose();
    }
}

[CollectionDefinition(Name)]
public sealed class PipelineCollection : ICollectionFixture<PipelineFixture>
{
    public const string Name = "tiny pipeline";
}

internal static class FixtureNames
{
    /// <summary>The fixture manifests' scheduler names → Farm's common names.</summary>
    public static string Scheduler(string fixtureName) => fixtureName switch
    {
        "euler_ancestral" => "euler-a",
        "dpmpp_2m" => "dpm++2m",
        "dpmpp_2m_karras" => "dpm++2m-karras",
        _ => fixtureName,
    };
}

using Farm.Diffusion;
using Farm.Diffusion.Pipelines;
using Farm.Diffusion.Torch;
using Farm.GpuWorker.Models;
using Farm.Shared.Contracts;

namespace Farm.GpuWorker.Rendering;

/// <summary>The text <see cref="IRendererFactory.InputsIdentityAsync"/> answers: the inputs of a render that are not the job's parameters.</summary>
internal static class RenderInputs
{
    public static string Describe(string engine, string model, IEnumerable<string> loras, IEnumerable<string> embeddings) =>
        string.Join('\u001f', ["engine=" + engine, "model=" + model, .. loras, .. embeddings]);

    /// <summary>
    /// The engine's: its version, precision and device type (fp16 and fp32, CPU and CUDA give slightly different
    /// pixels), the SHA-256 of the model's weights and of each adapter file. Null when an adapter is not here: the
    /// job then fails on its own, with the name.
    /// </summary>
    public static async Task<string?> OfEngineAsync(string modelSha256, AdapterLibrary adapters, PipelineOptions options, RenderJob job, CancellationToken cancellation)
    {
        var loras = new List<string>();
        foreach (var lora in job.Loras ?? [])
        {
            if (adapters.FindLora(lora.Name) is not { } file) return null;
            loras.Add($"lora={lora.Name}:{await adapters.Sha256Async(file, cancellation)}");
        }
        var embeddings = new List<string>();
        foreach (var name in job.Embeddings ?? [])
        {
            if (adapters.FindEmbedding(name) is not { } file) return null;
            embeddings.Add($"embedding={name}:{await adapters.Sha256Async(file, cancellation)}");
        }
        var engine = $"{EngineInfo.Version} {options.DType.ShortName()} {options.Device.Type.ToString().ToLowerInvariant()}";
        return Describe(engine, "sha256:" + modelSha256, loras, embeddings);
    }
}

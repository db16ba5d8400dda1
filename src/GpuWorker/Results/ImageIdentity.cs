using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Farm.Shared.Contracts;

namespace Farm.GpuWorker.Results;

/// <summary>
/// An image's content identity, the render cache's key: a SHA-256 (64 hex digits) of the render's inputs (model and
/// adapter hashes, engine version and precision: <see cref="Rendering.IRendererFactory.InputsIdentityAsync"/>) and of
/// every job parameter that changes pixels, the seed included. The sweep and the image index stay out, so the same image
/// has the same identity in any sweep. The model's name is in, though it changes no pixel: the PNG's metadata names
/// it, and a copy must be byte-identical and still true (two names for one set of weights render apart).
/// </summary>
internal static class ImageIdentity
{
    public static string For(string inputs, RenderJob job, long seed)
    {
        var inv = CultureInfo.InvariantCulture;
        var parts = new List<string>
        {
            inputs, "modelName=" + job.Model,
            "prompt=" + job.Prompt, "negative=" + job.NegativePrompt, "prompt2=" + job.Prompt2, "negative2=" + job.NegativePrompt2,
            "seed=" + seed.ToString(inv), "steps=" + job.Steps.ToString(inv), "guidance=" + job.GuidanceScale.ToString("R", inv),
            "scheduler=" + job.Scheduler, $"size={job.Width.ToString(inv)}x{job.Height.ToString(inv)}", "clipSkip=" + job.ClipSkip.ToString(inv),
            "init=" + job.InitAsset, "mask=" + job.MaskAsset, "strength=" + job.Strength?.ToString("R", inv),
        };
        foreach (var lora in job.Loras ?? []) parts.Add($"loraScale={lora.Name}:{lora.Scale.ToString("R", inv)}");
        foreach (var embedding in job.Embeddings ?? []) parts.Add("embedding=" + embedding);
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(string.Join('\u001e', parts))));
    }
}

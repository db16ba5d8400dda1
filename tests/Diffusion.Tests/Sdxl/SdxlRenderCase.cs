using System.Text.Json;
using Farm.Diffusion.Imaging;
using Farm.Diffusion.Pipelines;
using Farm.Diffusion.Pipelines.Prompts;
using Farm.Diffusion.Tests.Golden;
using Farm.Diffusion.Tests.Pipelines;

namespace Farm.Diffusion.Tests.Sdxl;

/// <summary>A pipeline case's parameters as a RenderRequest (and PromptInputs), exactly as the manifest gives them.</summary>
internal static class SdxlRenderCase
{
    public static RenderRequest Request(GoldenCase golden)
    {
        var p = golden.Params;
        var initPath = Path.Combine(golden.Folder, "init_image.png");
        return new RenderRequest
        {
            Prompt = p.GetProperty("prompt").GetString()!,
            Prompt2 = Text(p, "prompt_2"),
            NegativePrompt = Text(p, "negative_prompt"),
            NegativePrompt2 = Text(p, "negative_prompt_2"),
            Seeds = [p.GetProperty("seed").GetInt64()],
            Steps = p.GetProperty("steps").GetInt32(),
            GuidanceScale = p.GetProperty("guidance_scale").GetDouble(),
            Scheduler = FixtureNames.Scheduler(p.GetProperty("scheduler").GetString()!),
            Width = p.GetProperty("width").GetInt32(),
            Height = p.GetProperty("height").GetInt32(),
            ClipSkip = p.TryGetProperty("clip_skip", out var k) && k.ValueKind == JsonValueKind.Number ? k.GetInt32() : 0,
            Strength = p.TryGetProperty("strength", out var s) ? s.GetDouble() : 0.8,
            InitImage = File.Exists(initPath) ? PngDecoder.Load(initPath).Image : null,
        };
    }

    public static PromptInputs Inputs(RenderRequest r) =>
        new([r.Prompt], r.NegativePrompt, r.GuidanceScale > 1, r.ClipSkip, r.Prompt2, r.NegativePrompt2, r.Height!.Value, r.Width!.Value);

    private static string? Text(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
}

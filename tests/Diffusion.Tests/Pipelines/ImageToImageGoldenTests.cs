using System.Text.Json;
using Farm.Diffusion.Imaging;
using Farm.Diffusion.Pipelines;
using Farm.Diffusion.Tests.Golden;

namespace Farm.Diffusion.Tests.Pipelines;

/// <summary>
/// img2img and inpainting against diffusers, every random draw included. Tolerances as for txt2img (fixture README):
/// per-step latents 1e-4 relative to max |value|, uint8 images ±1 on at most 0.1% of values.
/// </summary>
[Collection(PipelineCollection.Name)]
public class ImageToImageGoldenTests(PipelineFixture fixture)
{
    public static TheoryData<string> Cases => new()
    {
        "img2img_pndm_str0.6_s10",
        "inpaint_eulera_str1.0_s10",
        "inpaint_pndm_str0.75_s10",
    };

    [SkippableTheory]
    [MemberData(nameof(Cases))]
    public void Image_conditioned_renders_reproduce_diffusers_step_by_step(string caseId)
    {
        using var golden = GoldenCase.Open(caseId);
        var p = golden.Params;
        var maskPath = Path.Combine(golden.Folder, "mask.png");
        var request = new RenderRequest
        {
            Prompt = p.GetProperty("prompt").GetString()!,
            NegativePrompt = p.TryGetProperty("negative_prompt", out var n) && n.ValueKind == JsonValueKind.String ? n.GetString()! : "",
            Seeds = [p.GetProperty("seed").GetInt64()],
            Steps = p.GetProperty("steps").GetInt32(),
            GuidanceScale = p.GetProperty("guidance_scale").GetDouble(),
            Scheduler = FixtureNames.Scheduler(p.GetProperty("scheduler").GetString()!),
            Strength = p.GetProperty("strength").GetDouble(),
            InitImage = PngDecoder.Load(Path.Combine(golden.Folder, "init_image.png")).Image,
            Mask = File.Exists(maskPath) ? PngDecoder.Load(maskPath).Image : null,
        };
        GoldenRender.AssertMatches(fixture.Pipeline, request, golden, initialTolerance: 1e-4);
    }

    [SkippableFact]
    public void A_strength_outside_zero_to_one_is_refused_with_the_field_named()
    {
        using var golden = GoldenCase.Open("img2img_pndm_str0.6_s10");
        var request = new RenderRequest
        {
            Prompt = "x",
            Seeds = [1],
            Steps = 4,
            Strength = 1.5,
            InitImage = PngDecoder.Load(Path.Combine(golden.Folder, "init_image.png")).Image,
        };
        var error = Assert.Throws<ArgumentException>(() => fixture.Pipeline.Render(request));
        Assert.StartsWith("strength:", error.Message);
    }
}

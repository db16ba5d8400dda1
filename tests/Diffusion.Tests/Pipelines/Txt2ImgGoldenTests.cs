using System.Text.Json;
using Farm.Diffusion.Pipelines;
using Farm.Diffusion.Pipelines.Prompts;
using Farm.Diffusion.Tests.Golden;
using Farm.Diffusion.Torch;

namespace Farm.Diffusion.Tests.Pipelines;

/// <summary>
/// Whole txt2img runs against diffusers. Tolerances from the fixture README: per-step latents 1e-4 relative to
/// max |value| (what a different summation order costs through a 10–15-step CFG loop), prompt embeddings 1e-5
/// (text encoder), uint8 images ±1 on at most 0.1% of values (rounding-boundary flips).
/// </summary>
[Collection(PipelineCollection.Name)]
public class Txt2ImgGoldenTests(PipelineFixture fixture)
{
    public static TheoryData<string> Cases => new()
    {
        "txt2img_ddim_g1.0_s12_64x96",
        "txt2img_dpmpp2mkarras_g7.5_s8",
        "txt2img_eulera_g12_s15",
        "txt2img_pndm_g7.5_s10",
    };

    [SkippableTheory]
    [MemberData(nameof(Cases))]
    public void Txt2img_reproduces_diffusers_step_by_step_and_pixel_for_pixel(string caseId)
    {
        using var golden = GoldenCase.Open(caseId);
        var p = golden.Params;
        var request = new RenderRequest
        {
            Prompt = p.GetProperty("prompt").GetString()!,
            NegativePrompt = p.GetProperty("negative_prompt").ValueKind == JsonValueKind.Null ? "" : p.GetProperty("negative_prompt").GetString()!,
            Seeds = [p.GetProperty("seed").GetInt64()],
            Steps = p.GetProperty("steps").GetInt32(),
            GuidanceScale = p.GetProperty("guidance_scale").GetDouble(),
            Scheduler = FixtureNames.Scheduler(p.GetProperty("scheduler").GetString()!),
            Width = p.GetProperty("width").GetInt32(),
            Height = p.GetProperty("height").GetInt32(),
        };
        GoldenRender.AssertMatches(fixture.Pipeline, request, golden);
    }

    [SkippableTheory]
    [MemberData(nameof(Cases))]
    public void Prompt_embeddings_match_diffusers(string caseId)
    {
        using var golden = GoldenCase.Open(caseId);
        var p = golden.Params;
        var negative = p.GetProperty("negative_prompt").ValueKind == JsonValueKind.Null ? "" : p.GetProperty("negative_prompt").GetString()!;
        var guided = p.GetProperty("guidance_scale").GetDouble() > 1;
        using var expected = golden.Tensor("prompt_embeds");
        using var actual = fixture.Pipeline.EncodePrompts(new PromptInputs([p.GetProperty("prompt").GetString()!], negative, guided));
        Close.Assert(expected, actual.EncoderHiddenStates, 1e-5, "prompt_embeds");
    }

    [SkippableTheory]
    [MemberData(nameof(Cases))]
    public void Decoding_the_recorded_final_latents_gives_diffusers_image(string caseId)
    {
        using var golden = GoldenCase.Open(caseId);
        using var latents = golden.Tensor("final_latents");
        using var expected = golden.Tensor("image_uint8");
        var images = fixture.Pipeline.Decode(latents);
        PixelAssert.MostlyEqual(expected.ToArray<byte>(), images[0].Pixels, caseId);
    }
}

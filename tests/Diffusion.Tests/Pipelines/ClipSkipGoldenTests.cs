using System.Text.Json;
using Farm.Diffusion.Pipelines;
using Farm.Diffusion.Pipelines.Prompts;
using Farm.Diffusion.Tests.Golden;
using Farm.Diffusion.Torch;
using Farm.Testing;

namespace Farm.Diffusion.Tests.Pipelines;

/// <summary>
/// diffusers' <c>clip_skip</c> on the sd-tiny model (adapters fixture): the positive prompt takes
/// final_layer_norm(hidden_states[-(k+1)]), the negative stays last_hidden_state. Tolerances from the fixture README:
/// prompt embeddings 1e-5, per-step latents 1e-4 relative to max |value|, uint8 images ±1 on at most 0.1% of values.
/// </summary>
[Collection(PipelineCollection.Name)]
public class ClipSkipGoldenTests(PipelineFixture fixture)
{
    public static TheoryData<string> Cases => new() { "clip_skip_1", "clip_skip_2" };

    private static RenderRequest Request(GoldenCase golden)
    {
        var p = golden.Params;
        return new RenderRequest
        {
            Prompt = p.GetProperty("prompt").GetString()!,
            NegativePrompt = p.GetProperty("negative_prompt").ValueKind == JsonValueKind.String ? p.GetProperty("negative_prompt").GetString() : null,
            Seeds = [p.GetProperty("seed").GetInt64()],
            Steps = p.GetProperty("steps").GetInt32(),
            GuidanceScale = p.GetProperty("guidance_scale").GetDouble(),
            Scheduler = FixtureNames.Scheduler(p.GetProperty("scheduler").GetString()!),
            Width = p.GetProperty("width").GetInt32(),
            Height = p.GetProperty("height").GetInt32(),
            ClipSkip = p.GetProperty("call_kwargs").GetProperty("clip_skip").GetInt32(),
        };
    }

    [SkippableTheory]
    [MemberData(nameof(Cases))]
    public void Prompt_embeddings_with_clip_skip_match_diffusers(string caseId)
    {
        using var golden = GoldenCase.Open(Fixtures.Adapters, caseId);
        var request = Request(golden);
        using var scope = torch.NewDisposeScope();
        var conditioning = fixture.Pipeline.EncodePrompts(new PromptInputs([request.Prompt], request.NegativePrompt, Guided: true, request.ClipSkip));
        Assert.Null(conditioning.Added);
        Close.Assert(golden.Tensor("prompt_embeds"), conditioning.EncoderHiddenStates, 1e-5, "prompt_embeds");
    }

    [SkippableTheory]
    [MemberData(nameof(Cases))]
    public void A_render_with_clip_skip_reproduces_diffusers_step_by_step_and_pixel_for_pixel(string caseId)
    {
        using var golden = GoldenCase.Open(Fixtures.Adapters, caseId);
        var request = Request(golden);
        GoldenRender.AssertMatches(fixture.Pipeline, request, golden);
    }
}

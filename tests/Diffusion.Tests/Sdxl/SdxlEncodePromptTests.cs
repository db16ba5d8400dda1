using System.Text.Json;
using Farm.Diffusion.Pipelines.Prompts;
using Farm.Diffusion.Tests.Golden;
using Farm.Diffusion.Torch;
using Farm.Testing;

namespace Farm.Diffusion.Tests.Sdxl;

/// <summary>StableDiffusionXLPipeline.encode_prompt against diffusers; README tolerance for text encoders: 1e-5 abs.</summary>
[Collection(SdxlPipelineCollection.Name)]
public sealed class SdxlEncodePromptTests(SdxlPipelineFixture fixture)
{
    private const double Atol = 1e-5;

    [SkippableTheory]
    [InlineData("cfg_zero_negative")]
    [InlineData("cfg_negative_and_prompt_2")]
    [InlineData("no_cfg_clip_skip1")]
    public void Prompt_and_negative_embeddings_match_diffusers(string variant)
    {
        using var golden = GoldenCase.Open(Fixtures.SdxlTiny, "encode_prompt");
        var v = golden.Params.GetProperty("variants").EnumerateArray().Single(e => e.GetProperty("name").GetString() == variant);
        var guided = v.GetProperty("cfg").GetBoolean();
        var inputs = new PromptInputs([v.GetProperty("prompt").GetString()!], Text(v, "negative_prompt"), guided,
            v.GetProperty("clip_skip").ValueKind == JsonValueKind.Null ? 0 : v.GetProperty("clip_skip").GetInt32(),
            Text(v, "prompt_2"), Text(v, "negative_prompt_2"), Height: 64, Width: 64);
        using var scope = torch.NewDisposeScope();
        var conditioning = fixture.Pipeline.EncodePrompts(inputs);
        var embeds = conditioning.EncoderHiddenStates;
        var pooled = conditioning.Added!.TextEmbeds;
        Assert.Equal(guided ? 2 : 1, embeds.size(0));
        Close.Assert(golden.Tensor($"{variant}_prompt_embeds"), embeds.select(0, embeds.size(0) - 1).unsqueeze(0), Atol, "prompt_embeds");
        Close.Assert(golden.Tensor($"{variant}_pooled_prompt_embeds"), pooled.select(0, pooled.size(0) - 1).unsqueeze(0), Atol, "pooled_prompt_embeds");
        if (!guided) return;
        Close.Assert(golden.Tensor($"{variant}_negative_prompt_embeds"), embeds.select(0, 0).unsqueeze(0), Atol, "negative_prompt_embeds");
        Close.Assert(golden.Tensor($"{variant}_negative_pooled_prompt_embeds"), pooled.select(0, 0).unsqueeze(0), Atol, "negative_pooled_prompt_embeds");
    }

    private static string? Text(JsonElement e, string name) => e.GetProperty(name).ValueKind == JsonValueKind.Null ? null : e.GetProperty(name).GetString();
}

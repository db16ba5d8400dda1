using System.Text.Json;
using System.Text.RegularExpressions;
using Farm.Diffusion.Adapters;
using Farm.Diffusion.Tests.Golden;
using Farm.Diffusion.Torch;
using Farm.Testing;
using Xunit.Abstractions;

namespace Farm.Diffusion.Tests.Adapters;

/// <summary>
/// Component-level golden tests of the SD1 lora_* cases: prompt_embeds (text encoder with the LoRA at the case's
/// scale, negative and positive rows) and the teacher-forced UNet (recorded inputs, timesteps and prompt_embeds of
/// every step against the recorded outputs). Tolerances are the README's: text encoder 1e-5, single UNet forward 1e-4.
/// </summary>
public sealed class LoraGoldenTests(SdTinyModels models, ITestOutputHelper output) : IClassFixture<SdTinyModels>
{
    private const double TextEncoderAtol = 1e-5;
    private const double UnetAtol = 1e-4;

    [SkippableTheory]
    [InlineData("lora_kohya_scale0")]
    [InlineData("lora_kohya_scale0.5")]
    [InlineData("lora_kohya_scale1")]
    [InlineData("lora_diffusers_scale1")]
    [InlineData("lora_two_adapters")]
    public void Prompt_embeddings_and_every_unet_step_match_diffusers_with_the_cases_loras(string caseId)
    {
        using var golden = GoldenCase.Open(Fixtures.Adapters, caseId);
        var (activations, scale) = CaseLoras(golden);
        try
        {
            AssertFactorsMatchTheManifest(golden, activations, scale);
            using var applied = AppliedLoras.Apply(activations, models.LoraModels, scale);
            Assert.Equal(activations.Sum(a => a.File.Modules.Count), applied.Count);
            AssertCaseReproduced(golden);
        }
        finally
        {
            foreach (var a in activations) a.File.Dispose();
        }
    }

    [SkippableFact]
    public void After_the_two_adapters_are_detached_the_model_reproduces_the_unloaded_case()
    {
        using var twoAdapters = GoldenCase.Open(Fixtures.Adapters, "lora_two_adapters");
        var (activations, scale) = CaseLoras(twoAdapters);
        try
        {
            using (AppliedLoras.Apply(activations, models.LoraModels, scale))
            {
                using var scope = torch.NewDisposeScope();
                var withLoras = models.PromptEmbeds(Prompt(twoAdapters), NegativePrompt(twoAdapters));
                Close.Assert(twoAdapters.Tensor("prompt_embeds"), withLoras, TextEncoderAtol, "prompt_embeds while applied");
            }
            using var unloaded = GoldenCase.Open(Fixtures.Adapters, "lora_unloaded");
            AssertCaseReproduced(unloaded);
        }
        finally
        {
            foreach (var a in activations) a.File.Dispose();
        }
    }

    [SkippableTheory]
    [InlineData("lora_kohya_scale0.5")]
    [InlineData("lora_kohya_scale1")]
    [InlineData("lora_two_adapters")]
    public void Without_its_loras_the_base_model_misses_each_lora_case_by_far_more_than_the_tolerance(string caseId)
    {
        // Guards the tests above against passing vacuously (e.g. a LoRA that never reached the layers).
        using var golden = GoldenCase.Open(Fixtures.Adapters, caseId);
        using var scope = torch.NewDisposeScope();
        var embeds = models.PromptEmbeds(Prompt(golden), NegativePrompt(golden));
        Assert.True((golden.Tensor("prompt_embeds").select(0, 1) - embeds.select(0, 1)).MaxAbs() > 100 * TextEncoderAtol);
        var predicted = models.Unet.Forward(golden.Tensor("unet_inputs").select(0, 0), golden.Tensor("timesteps").select(0, 0), golden.Tensor("prompt_embeds"));
        Assert.True((golden.Tensor("unet_outputs").select(0, 0) - predicted).MaxAbs() > 10 * UnetAtol);
    }

    private void AssertCaseReproduced(GoldenCase golden)
    {
        using var scope = torch.NewDisposeScope();
        var embeds = models.PromptEmbeds(Prompt(golden), NegativePrompt(golden));
        var expectedEmbeds = golden.Tensor("prompt_embeds");
        output.WriteLine($"{golden.Id} prompt_embeds max |diff| = {(expectedEmbeds - embeds).MaxAbs():G3}");
        Close.Assert(expectedEmbeds.select(0, 0), embeds.select(0, 0), TextEncoderAtol, $"{golden.Id} prompt_embeds (negative row)");
        Close.Assert(expectedEmbeds.select(0, 1), embeds.select(0, 1), TextEncoderAtol, $"{golden.Id} prompt_embeds (positive row)");

        var inputs = golden.Tensor("unet_inputs");
        var outputs = golden.Tensor("unet_outputs");
        var timesteps = golden.Tensor("timesteps");
        for (var step = 0; step < inputs.size(0); step++)
        {
            using var stepScope = torch.NewDisposeScope();
            var predicted = models.Unet.Forward(inputs.select(0, step), timesteps.select(0, step), expectedEmbeds);
            var expected = outputs.select(0, step);
            output.WriteLine($"{golden.Id} step {step}: unet max |diff| = {(expected - predicted).MaxAbs():G3}");
            Close.Assert(expected, predicted, UnetAtol, $"{golden.Id} unet_outputs step {step}");
        }
    }

    /// <summary>The case's LoRA files with their adapter weights (from the recorded set_adapters call) and scale.</summary>
    internal static (List<LoraActivation> Activations, double Scale) CaseLoras(GoldenCase golden)
    {
        var p = golden.Params;
        var scale = p.TryGetProperty("call_kwargs", out var kwargs) && kwargs.TryGetProperty("cross_attention_kwargs", out var cak)
            && cak.TryGetProperty("scale", out var s) ? s.GetDouble() : 1.0;
        var files = p.TryGetProperty("loras", out var many)
            ? many.EnumerateArray().Select(e => e.GetProperty("file").GetString()!).ToList()
            : [p.GetProperty("lora").GetProperty("file").GetString()!];
        var weights = Enumerable.Repeat(1.0, files.Count).ToArray();
        var match = Regex.Match(p.GetProperty("load_call").GetString()!, @"adapter_weights=\[([^\]]*)\]");
        if (match.Success)
            weights = match.Groups[1].Value.Split(',').Select(w => double.Parse(w, System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        Assert.Equal(files.Count, weights.Length);
        var activations = files.Select((f, i) => new LoraActivation(LoraFile.Load(Path.GetFullPath(Path.Combine(golden.Folder, f))), weights[i])).ToList();
        return (activations, scale);
    }

    /// <summary>Our float64 factor must be the very number diffusers/PEFT used (the manifest's effective factor).</summary>
    private static void AssertFactorsMatchTheManifest(GoldenCase golden, List<LoraActivation> activations, double scale)
    {
        var p = golden.Params;
        var expected = p.TryGetProperty("effective_factors", out var many)
            ? many.EnumerateObject().Select(e => e.Value.GetDouble()).ToList()
            : [p.GetProperty("effective_factor").GetDouble()];
        Assert.Equal(activations.Count, expected.Count);
        for (var i = 0; i < activations.Count; i++)
            foreach (var module in activations[i].File.Modules)
                Assert.Equal(expected[i], module.Factor(activations[i].Weight, scale));
    }

    internal static string Prompt(GoldenCase golden) => golden.Params.GetProperty("prompt").GetString()!;

    internal static string NegativePrompt(GoldenCase golden) =>
        golden.Params.GetProperty("negative_prompt") is { ValueKind: JsonValueKind.String } n ? n.GetString()! : "";
}

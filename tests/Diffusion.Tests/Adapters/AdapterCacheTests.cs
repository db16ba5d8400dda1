using Farm.Diffusion.Adapters;
using Farm.Diffusion.Pipelines;
using Farm.Diffusion.Tests.Golden;
using Farm.Diffusion.Torch;
using Farm.Diffusion.Weights;
using Farm.Testing;

namespace Farm.Diffusion.Tests.Adapters;

/// <summary>The integration surface: a warm set of models switching LoRAs and embeddings between renders.</summary>
public sealed class AdapterCacheTests(SdTinyModels models) : IClassFixture<SdTinyModels>
{
    private const double TextEncoderAtol = 1e-5;

    private static string FilePath(string name) => Fixtures.PathIn(Fixtures.Adapters, "files", name);

    private AdapterTargets Targets => new(models.Unet, [new TextEncoderTarget(models.TextEncoder, models.Tokenizer)]);

    [SkippableFact]
    public void Renders_switch_loras_and_embeddings_without_reloading_and_each_reproduces_its_case()
    {
        using var cache = new AdapterCache();
        using var lora = GoldenCase.Open(Fixtures.Adapters, "lora_kohya_scale1");
        using var ti3 = GoldenCase.Open(Fixtures.Adapters, "ti_emb3_diffusers");
        using var ti1 = GoldenCase.Open(Fixtures.Adapters, "ti_emb1_diffusers");
        using var scope = torch.NewDisposeScope();
        var baseEmbeds = models.PromptEmbeds(LoraGoldenTests.Prompt(lora), "");
        for (var round = 0; round < 2; round++)
        {
            using (var adapters = cache.Apply([new LoraReference(FilePath("lora_a.kohya.safetensors"))], [], Targets))
            {
                Assert.Equal(146, adapters.LoraLayerCount);
                Close.Assert(lora.Tensor("prompt_embeds"), Embeds(adapters, lora), TextEncoderAtol, $"round {round}: lora prompt_embeds");
            }
            Assert.Equal(1, cache.CachedLoraFiles);
            foreach (var (golden, file) in new[] { (ti3, "emb3.learned_embeds.safetensors"), (ti1, "emb1.learned_embeds.safetensors") })
            {
                var token = golden.Params.GetProperty("token").GetString()!;
                using var adapters = cache.Apply([], [new EmbeddingReference(FilePath(file), token)], Targets);
                Assert.Equal(golden.Longs("input_ids"), adapters.Encode(LoraGoldenTests.Prompt(golden)).Select(i => (long)i));
                Close.Assert(golden.Tensor("prompt_embeds"), Embeds(adapters, golden), TextEncoderAtol, $"round {round}: {golden.Id} prompt_embeds");
            }
            Close.Assert(baseEmbeds, models.PromptEmbeds(LoraGoldenTests.Prompt(lora), ""), 0, $"round {round}: base model after the scopes");
        }
        Assert.Empty(models.Tokenizer.AddedTokens);
    }

    [SkippableFact]
    public void A_lora_and_an_embedding_apply_together_and_a_failure_leaves_nothing_attached()
    {
        using var cache = new AdapterCache();
        var missing = Path.Combine(Path.GetTempPath(), $"farm-missing-{Guid.NewGuid():N}.safetensors");
        Assert.Throws<FileNotFoundException>(() => cache.Apply(
            [new LoraReference(FilePath("lora_a.kohya.safetensors"))], [new EmbeddingReference(missing)], Targets));
        using var scope = torch.NewDisposeScope();
        const string prompt = "a <emb1> painting of a castle";
        var baseIds = models.Tokenizer.Encode(prompt);
        using var golden = GoldenCase.Open(Fixtures.Adapters, "lora_unloaded");
        Close.Assert(golden.Tensor("prompt_embeds"), models.PromptEmbeds(LoraGoldenTests.Prompt(golden), ""), TextEncoderAtol, "no LoRA left attached");

        using var adapters = cache.Apply([new LoraReference(FilePath("lora_a.kohya.safetensors"), 0.5)], [new EmbeddingReference(FilePath("emb1.a1111.safetensors"), "<emb1>")], Targets);
        Assert.Equal(49408, adapters.Encode(prompt)[2]);
        Assert.NotEqual(baseIds, adapters.Encode(prompt));
        Assert.Equal(baseIds, models.Tokenizer.Encode(prompt));
    }

    [SkippableFact]
    public void Without_a_token_the_file_stem_is_the_token()
    {
        using var cache = new AdapterCache();
        using var adapters = cache.Apply([], [new EmbeddingReference(FilePath("emb3.learned_embeds.safetensors"))], Targets);
        Assert.Equal(["emb3.learned_embeds", "emb3.learned_embeds_1", "emb3.learned_embeds_2"], adapters.Tokenizer().AddedTokens);
        Assert.Equal("a emb3.learned_embeds emb3.learned_embeds_1 emb3.learned_embeds_2 castle", adapters.ConvertPrompt("a emb3.learned_embeds castle"));
        Assert.Equal([49406, 320, 49408, 49409, 49410], adapters.Encode("a emb3.learned_embeds castle").Take(5));
    }

    [SkippableFact]
    public void An_embedding_of_another_width_is_an_error_naming_the_file_and_both_widths()
    {
        var path = Path.Combine(Path.GetTempPath(), $"farm-emb-{Guid.NewGuid():N}.safetensors");
        SafetensorsWriter.Write(path, [("emb_params", SafetensorsDType.F32, [2L, 768L], new byte[2 * 768 * 4])]);
        try
        {
            using var cache = new AdapterCache();
            var error = Assert.Throws<InvalidDataException>(() => cache.Apply([], [new EmbeddingReference(path, "<big>")], Targets));
            Assert.Contains(path, error.Message);
            Assert.Contains("768", error.Message);
            Assert.Contains("32", error.Message);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [SkippableFact]
    public void A_token_already_in_the_vocabulary_is_refused()
    {
        using var cache = new AdapterCache();
        var error = Assert.Throws<InvalidDataException>(() => cache.Apply([], [new EmbeddingReference(FilePath("emb1.a1111.safetensors"), "cat</w>")], Targets));
        Assert.Contains("cat</w>", error.Message);
    }

    private Tensor Embeds(AdapterScope adapters, GoldenCase golden) =>
        models.PromptEmbeds(LoraGoldenTests.Prompt(golden), LoraGoldenTests.NegativePrompt(golden), adapters.Tokenizer(), p => adapters.ConvertPrompt(p));
}

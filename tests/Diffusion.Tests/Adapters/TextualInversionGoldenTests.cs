using Farm.Diffusion.Adapters;
using Farm.Diffusion.Tests.Golden;
using Farm.Diffusion.Torch;
using Farm.Testing;
using Xunit.Abstractions;

namespace Farm.Diffusion.Tests.Adapters;

/// <summary>
/// The ti_* cases at component level: the rewritten prompt, <c>input_ids</c> (exact), the added vectors (exact) and
/// <c>prompt_embeds</c> (README text-encoder tolerance 1e-5; negative row and positive row).
/// </summary>
public sealed class TextualInversionGoldenTests(SdTinyModels models, ITestOutputHelper output) : IClassFixture<SdTinyModels>
{
    private const double TextEncoderAtol = 1e-5;

    [SkippableTheory]
    [InlineData("ti_emb1_a1111_pt")]
    [InlineData("ti_emb1_diffusers")]
    [InlineData("ti_emb3_a1111_pt")]
    [InlineData("ti_emb3_a1111_safetensors")]
    [InlineData("ti_emb3_diffusers")]
    public void Ids_added_vectors_and_prompt_embeddings_match_diffusers(string caseId)
    {
        using var golden = GoldenCase.Open(Fixtures.Adapters, caseId);
        var p = golden.Params;
        var file = Path.GetFullPath(Path.Combine(golden.Folder, p.GetProperty("embedding").GetProperty("file").GetString()!));
        var token = p.GetProperty("token").GetString()!;
        var embedding = TextualInversionEmbedding.Load(file);
        Assert.Equal(p.GetProperty("embedding_format").GetString(), embedding.Format);
        Assert.Equal(p.GetProperty("vectors").GetInt32(), embedding.VectorCount);
        Assert.Equal(golden.Floats("added_embeddings"), embedding.Vectors);

        using var applied = AppliedEmbeddings.Apply([new EmbeddingActivation(embedding, token)], models.TextEncoder, models.Tokenizer);
        foreach (var added in p.GetProperty("added_token_ids").EnumerateObject())
            Assert.Equal(added.Value.GetInt32(), applied.Tokenizer.Encode(added.Name)[1]);
        Assert.Equal(p.GetProperty("vocab_size_after").GetInt32(), applied.Tokenizer.VocabularySize + applied.Tokenizer.AddedTokens.Count);

        var prompt = LoraGoldenTests.Prompt(golden);
        Assert.Equal(p.GetProperty("converted_prompt").GetString(), applied.ConvertPrompt(prompt));
        Assert.Equal(golden.Longs("input_ids"), applied.Encode(prompt).Select(i => (long)i).ToArray());

        using var scope = torch.NewDisposeScope();
        var embeds = models.PromptEmbeds(prompt, LoraGoldenTests.NegativePrompt(golden), applied.Tokenizer, applied.ConvertPrompt);
        var expected = golden.Tensor("prompt_embeds");
        output.WriteLine($"{caseId} prompt_embeds max |diff| = {(expected - embeds).MaxAbs():G3}");
        Close.Assert(expected.select(0, 0), embeds.select(0, 0), TextEncoderAtol, $"{caseId} prompt_embeds (negative row)");
        Close.Assert(expected.select(0, 1), embeds.select(0, 1), TextEncoderAtol, $"{caseId} prompt_embeds (positive row)");
    }
}

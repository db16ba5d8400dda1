using Farm.Diffusion.Models;
using Farm.Diffusion.Models.Clip;
using Farm.Diffusion.Tests.Golden;
using Farm.Diffusion.Tokenization;
using Farm.Diffusion.Torch;
using Farm.Testing;

namespace Farm.Diffusion.Tests.Models;

public sealed class ClipTextModelTests
{
    // The fixtures are bit-identical across reruns and thread counts (README "Tolerances": text encoder 0) and we
    // run the same libtorch ops in transformers' order, so on the fixtures' own kernels the difference is 0. A CPU
    // whose BLAS kernels differ sums in another order: OpenBLAS's AVX-512 (SkylakeX) kernels on an AMD Zen 4 gave
    // 1.04e-6 on p2. The README's suggested text-encoder tolerance, 1e-5, is the bound.
    private const double Atol = 1e-5;

    // A batch changes the GEMM shapes and so BLAS's summation order (measured 9.5e-7): the same README bound.
    private const double BatchAtol = Atol;

    private static CLIPTextModel LoadFixtureModel()
    {
        var index = ModelIndex.Load(Fixtures.ModelDir);
        return CLIPTextModel.FromPretrained(index.TextEncoder, ScalarType.Float32, Device.Cpu);
    }

    private static ClipTokenizer FixtureTokenizer() => ClipTokenizer.FromDirectory(Path.Combine(Fixtures.ModelDir, "tokenizer"));

    private static Tensor Ids(int[] ids) => torch.tensor(ids.Select(i => (long)i).ToArray(), 1, ids.Length);

    [SkippableTheory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Last_hidden_state_and_pooler_output_match_transformers_for_each_prompt(int p)
    {
        using var c = GoldenCase.Open("text_encoder_prompts");
        using var model = LoadFixtureModel();
        using var scope = torch.NewDisposeScope();
        var prompt = c.Params.GetProperty("prompts")[p].GetString()!;
        var ids = FixtureTokenizer().Encode(prompt);
        Assert.Equal(c.Longs($"p{p}_input_ids"), ids.Select(i => (long)i).ToArray());

        using var output = model.Forward(Ids(ids));
        Close.Assert(c.Tensor($"p{p}_last_hidden_state"), output.LastHiddenState, Atol, $"p{p} last_hidden_state");
        Close.Assert(c.Tensor($"p{p}_pooler_output"), output.PoolerOutput!, Atol, $"p{p} pooler_output");
    }

    [SkippableFact]
    public void Hidden_states_and_clip_skip_match_transformers_and_diffusers()
    {
        using var c = GoldenCase.Open("text_encoder_prompts");
        using var model = LoadFixtureModel();
        using var scope = torch.NewDisposeScope();
        var ids = Ids(FixtureTokenizer().Encode(c.Params.GetProperty("prompts")[0].GetString()!));

        using var all = model.Forward(ids, outputHiddenStates: true);
        var expected = c.Tensor("p0_hidden_states");
        Assert.Equal(model.Config.NumHiddenLayers + 1, all.HiddenStates!.Count);
        for (var i = 0; i < all.HiddenStates.Count; i++)
            Close.Assert(expected.select(0, i), all.HiddenStates[i], Atol, $"hidden_states[{i}]");
        Close.Assert(c.Tensor("p0_last_hidden_state"), all.LastHiddenState, Atol, "last_hidden_state with hidden states");

        // diffusers' clip_skip=1: final_layer_norm(hidden_states[-2]); computed without running the last layer.
        using var skipped = model.Forward(ids, clipSkip: 1);
        Close.Assert(c.Tensor("p0_clip_skip1"), skipped.LastHiddenState, Atol, "clip_skip 1");
        using var skippedWithStates = model.Forward(ids, clipSkip: 1, outputHiddenStates: true);
        Close.Assert(c.Tensor("p0_clip_skip1"), skippedWithStates.LastHiddenState, Atol, "clip_skip 1 with hidden states");
    }

    [SkippableFact]
    public void Embedding_surgery_swaps_one_token_for_another_exactly_like_substituted_ids()
    {
        using var c = GoldenCase.Open("text_encoder_embedding_surgery");
        using var model = LoadFixtureModel();
        using var scope = torch.NewDisposeScope();
        var tokenizer = FixtureTokenizer();
        var ids = tokenizer.Encode(c.Params.GetProperty("prompt").GetString()!);
        Assert.Equal(c.Longs("input_ids"), ids.Select(i => (long)i).ToArray());
        var replace = c.Params.GetProperty("replace_token_id").GetInt32();
        var with = c.Params.GetProperty("with_token_id").GetInt32();
        Assert.Equal(replace, tokenizer.Encode("cat")[1]);
        Assert.Equal(with, tokenizer.Encode("dog")[1]);

        // Swap the embedding rows of the replaced positions for the other token's row.
        var embeds = model.TokenEmbedding(Ids(ids));
        var replacement = model.TokenEmbedding(torch.tensor([(long)with], 1, 1));
        var positions = ids.Select((id, i) => (id, i)).Where(x => x.id == replace).Select(x => x.i).ToArray();
        Assert.Equal(c.Params.GetProperty("replaced_positions").EnumerateArray().Select(e => e.GetInt32()), positions);
        var rows = Enumerable.Range(0, ids.Length)
            .Select(i => positions.Contains(i) ? replacement.select(1, 0) : embeds.select(1, i))
            .Select(t => t.unsqueeze(1))
            .ToList();
        var edited = torch.cat(rows, 1);
        Close.Assert(c.Tensor("inputs_embeds"), edited, 0, "inputs_embeds after surgery (a row copy)");

        using var mask = CLIPTextTransformer.CausalMask(77, ScalarType.Float32, Device.Cpu);
        Close.Assert(c.Tensor("causal_mask"), mask, 0, "causal mask");

        using var output = model.ForwardEmbeds(edited);
        Assert.Null(output.PoolerOutput);
        Close.Assert(c.Tensor("last_hidden_state"), output.LastHiddenState, Atol, "last_hidden_state from embeddings");

        var substituted = ids.Select(id => id == replace ? with : id).ToArray();
        using var direct = model.Forward(Ids(substituted));
        Close.Assert(direct.LastHiddenState, output.LastHiddenState, 0, "embeds path vs substituted ids");
    }

    [SkippableFact]
    public void A_batch_gives_each_prompt_the_result_it_gets_alone()
    {
        using var c = GoldenCase.Open("text_encoder_prompts");
        using var model = LoadFixtureModel();
        using var scope = torch.NewDisposeScope();
        var tokenizer = FixtureTokenizer();
        var prompts = Enumerable.Range(0, 4).Select(p => c.Params.GetProperty("prompts")[p].GetString()!).ToArray();
        var batch = torch.cat(prompts.Select(p => Ids(tokenizer.Encode(p))).ToList(), 0);
        using var output = model.Forward(batch);
        for (var p = 0; p < prompts.Length; p++)
        {
            Close.Assert(c.Tensor($"p{p}_last_hidden_state"), output.LastHiddenState.narrow(0, p, 1), BatchAtol, $"batched p{p}");
            Close.Assert(c.Tensor($"p{p}_pooler_output"), output.PoolerOutput!.narrow(0, p, 1), BatchAtol, $"batched p{p} pooler");
        }
    }

    [SkippableFact]
    public void Fixture_weights_load_strictly_under_transformers_key_names()
    {
        using var model = LoadFixtureModel();
        var keys = model.NamedParameters().Select(p => p.Key).ToList();
        Assert.Contains("text_model.embeddings.token_embedding.weight", keys);
        Assert.Contains("text_model.encoder.layers.2.self_attn.out_proj.bias", keys);
        Assert.Contains("text_model.final_layer_norm.weight", keys);
        Assert.Equal(1_603_951, model.NamedParameters().Sum(p => p.Parameter.Shape.Aggregate(1L, (a, b) => a * b)));
    }
}

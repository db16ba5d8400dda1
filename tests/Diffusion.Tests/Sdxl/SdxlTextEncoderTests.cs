using Farm.Diffusion.Models.Clip;
using Farm.Diffusion.Tests.Golden;
using Farm.Diffusion.Tests.Models;
using Farm.Diffusion.Tokenization;
using Farm.Diffusion.Torch;
using Farm.Testing;

namespace Farm.Diffusion.Tests.Sdxl;

/// <summary>Both SDXL text encoders against transformers; README tolerance for text encoders: 1e-5 abs.</summary>
public sealed class SdxlTextEncoderTests
{
    private const double Atol = 1e-5;

    [SkippableTheory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    public void Hidden_states_pooled_and_projected_outputs_of_both_encoders_match_transformers(int p)
    {
        using var golden = GoldenCase.Open(Fixtures.SdxlTiny, "text_encoders");
        var index = SdxlModel.Index();
        using var te1 = CLIPTextModel.FromPretrained(index.TextEncoder, ScalarType.Float32, Device.Cpu);
        using var te2 = CLIPTextModelWithProjection.FromPretrained(index.TextEncoder2!, ScalarType.Float32, Device.Cpu);
        using var scope = torch.NewDisposeScope();
        var prompt = golden.Params.GetProperty("prompts")[p].GetString()!;
        var ids = Ids(ClipTokenizer.FromDirectory(index.Tokenizer.Directory), prompt);
        var ids2 = Ids(ClipTokenizer.FromDirectory(index.Tokenizer2!.Directory), prompt);
        Assert.Equal(golden.Longs($"p{p}_input_ids"), ids.ToArray<long>());
        Assert.Equal(golden.Longs($"p{p}_input_ids_2"), ids2.ToArray<long>());

        using var first = te1.Forward(ids, outputHiddenStates: true);
        AssertStates(golden.Tensor($"p{p}_te1_hidden_states"), first.HiddenStates!, $"p{p} te1");
        Close.Assert(golden.Tensor($"p{p}_te1_last_hidden_state"), first.LastHiddenState, Atol, $"p{p} te1 last_hidden_state");
        Close.Assert(golden.Tensor($"p{p}_te1_pooler_output"), first.PoolerOutput!, Atol, $"p{p} te1 pooler_output");

        using var second = te2.Forward(ids2);
        AssertStates(golden.Tensor($"p{p}_te2_hidden_states"), second.HiddenStates, $"p{p} te2");
        Close.Assert(golden.Tensor($"p{p}_te2_last_hidden_state"), second.LastHiddenState, Atol, $"p{p} te2 last_hidden_state");
        Close.Assert(golden.Tensor($"p{p}_te2_text_embeds"), second.TextEmbeds, Atol, $"p{p} te2 text_embeds");
    }

    [SkippableFact]
    public void Text_encoder_2_built_from_its_config_has_exactly_the_checkpoint_keys_and_shapes()
    {
        var index = SdxlModel.Index();
        using var model = new CLIPTextModelWithProjection(CLIPTextConfig.FromFile(index.TextEncoder2!.ConfigPath!));
        Assert.Equal(24, model.Config.ProjectionDim);
        CheckpointKeys.AssertMatch(model, index.TextEncoder2.WeightsPath!);
    }

    private static void AssertStates(Tensor expected, IReadOnlyList<Tensor> actual, string what)
    {
        Assert.Equal(expected.size(0), actual.Count);
        for (var i = 0; i < actual.Count; i++)
        {
            using var e = expected.select(0, i);
            Close.Assert(e, actual[i], Atol, $"{what} hidden_states[{i}]");
        }
    }

    private static Tensor Ids(ClipTokenizer tokenizer, string prompt)
    {
        var ids = tokenizer.Encode(prompt).Select(i => (long)i).ToArray();
        return torch.tensor(ids, 1, ids.Length);
    }
}

using Farm.Diffusion.Tests.Golden;
using Farm.Diffusion.Tokenization;
using Farm.Testing;

namespace Farm.Diffusion.Tests.Sdxl;

public sealed class SdxlTokenizerTests
{
    [SkippableFact]
    public void Both_tokenizers_give_transformers_ids_with_their_own_pad_ids()
    {
        using var golden = GoldenCase.Open(Fixtures.SdxlTiny, "tokenizer_sdxl");
        var tokenizer = ClipTokenizer.FromDirectory(SdxlModel.Component("tokenizer"));
        var tokenizer2 = ClipTokenizer.FromDirectory(SdxlModel.Component("tokenizer_2"));
        Assert.Equal(49407, tokenizer.PadTokenId);
        Assert.Equal(0, tokenizer2.PadTokenId);
        var cases = golden.Manifest.RootElement.GetProperty("cases");
        Assert.True(cases.GetArrayLength() > 0);
        foreach (var c in cases.EnumerateArray())
        {
            var prompt = c.GetProperty("prompt").GetString()!;
            var expected = c.GetProperty("tokenizer").GetProperty("input_ids").EnumerateArray().Select(e => e.GetInt32()).ToArray();
            var expected2 = c.GetProperty("tokenizer_2").GetProperty("input_ids").EnumerateArray().Select(e => e.GetInt32()).ToArray();
            Assert.Equal(expected, tokenizer.Encode(prompt).ToArray());
            Assert.Equal(expected2, tokenizer2.Encode(prompt).ToArray());
        }
    }
}

using System.Text.Json;
using Farm.Diffusion.Tokenization;
using Farm.Testing;
using Xunit;

namespace Farm.Diffusion.Tests.Tokenization;

public sealed class ClipTokenizerTests
{
    private static readonly Lazy<ClipTokenizer> tokenizer =
        new(() => ClipTokenizer.FromDirectory(Path.Combine(Fixtures.ModelDir, "tokenizer")));

    private static ClipTokenizer Tokenizer
    {
        get
        {
            Fixtures.RequireRoot();
            return tokenizer.Value;
        }
    }

    public static IEnumerable<object[]> GoldenPrompts()
    {
        if (Fixtures.Root is null)
        {
            yield return [-1, "(fixtures absent)"];
            yield break;
        }
        var cases = LoadCases();
        for (var i = 0; i < cases.Count; i++) yield return [i, cases[i].Prompt];
    }

    private static List<(string Prompt, int[] Ids)> LoadCases()
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(Fixtures.Case("tokenizer_clip"), "manifest.json")));
        return doc.RootElement.GetProperty("cases").EnumerateArray()
            .Select(c => (c.GetProperty("prompt").GetString()!,
                c.GetProperty("input_ids").EnumerateArray().Select(e => e.GetInt32()).ToArray()))
            .ToList();
    }

    [SkippableTheory]
    [MemberData(nameof(GoldenPrompts))]
    public void Encoding_matches_transformers_for_every_golden_prompt(int index, string prompt)
    {
        var expected = LoadCases()[index];
        Assert.Equal(expected.Prompt, prompt);
        Assert.Equal(expected.Ids, Tokenizer.Encode(prompt));
    }

    [SkippableFact]
    public void Special_tokens_and_length_come_from_the_config()
    {
        var t = Tokenizer;
        Assert.Equal(77, t.MaxLength);
        Assert.Equal(49406, t.BosTokenId);
        Assert.Equal(49407, t.EosTokenId);
        Assert.Equal(49407, t.PadTokenId);
        Assert.Equal(49408, t.VocabularySize);
    }

    [SkippableFact]
    public void A_long_prompt_reports_its_untruncated_token_count()
    {
        var prompt = string.Join(' ', Enumerable.Repeat("dog", 100));
        var result = Tokenizer.EncodeDetailed(prompt);
        Assert.Equal(100, result.ContentTokenCount);
        Assert.True(result.Truncated);
        Assert.Equal(77, result.InputIds.Length);
        Assert.Equal(49407, result.InputIds[76]);
        Assert.Equal(100, Tokenizer.EncodeWithoutPadding(prompt).Count);
    }

    [SkippableFact]
    public void Repeated_encoding_gives_the_same_ids()
    {
        const string prompt = "a photograph of an astronaut riding a horse";
        Assert.Equal(Tokenizer.Encode(prompt), Tokenizer.Encode(prompt));
        Assert.Equal("a</w>", Tokenizer.TokenText(320));
    }

    [SkippableFact]
    public void The_pad_token_is_read_from_the_config()
    {
        var dir = Directory.CreateTempSubdirectory("farm-tok-").FullName;
        try
        {
            var src = Path.Combine(Fixtures.ModelDir, "tokenizer");
            File.Copy(Path.Combine(src, "vocab.json"), Path.Combine(dir, "vocab.json"));
            File.Copy(Path.Combine(src, "merges.txt"), Path.Combine(dir, "merges.txt"));
            File.WriteAllText(Path.Combine(dir, "tokenizer_config.json"), """{"model_max_length": 77, "pad_token": "!"}""");
            var sd2 = ClipTokenizer.FromDirectory(dir);
            Assert.Equal(0, sd2.PadTokenId);
            var ids = sd2.Encode("cat");
            Assert.Equal([49406, 2368, 49407, 0, 0], ids[..5]);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}

public sealed class UnicodeNfcTests
{
    [Theory]
    [InlineData("Cafe\u0301", "Caf\u00E9")]
    [InlineData("A\u030A", "\u00C5")]
    [InlineData("\u212B", "\u00C5")] // Ångström sign is a singleton decomposition
    [InlineData("\u1E9B\u0323", "\u1E9B\u0323")] // example from UAX #15
    [InlineData("\u1100\u1161\u11A8", "\uAC01")] // Hangul jamo compose algorithmically
    [InlineData("a\u0323\u0302", "\u1EAD")] // marks reordered by combining class, then composed
    [InlineData("plain ascii", "plain ascii")]
    public void Nfc_matches_python_unicodedata(string input, string expected)
    {
        Assert.Equal(expected, UnicodeNfc.Normalize(input));
    }

    [Theory]
    [InlineData("\u0130", "i\u0307")]
    [InlineData("\u039F\u0394\u039F\u03A3", "\u03BF\u03B4\u03BF\u03C2")]
    [InlineData("\u03A3\u0391", "\u03C3\u03B1")]
    public void Lowercasing_matches_python_str_lower(string input, string expected)
    {
        Assert.Equal(expected, BasicTextNormalizer.PythonLower(input));
    }
}

using Farm.Shared.Sweeps;
using Xunit;

namespace Farm.Shared.Tests;

/// <summary>Parsing and validation of the axis fields: every bad value is an error keyed by its path.</summary>
public sealed class SweepAxesSpecTests
{
    private static readonly SweepLimits Limits = new() { MaxWidth = 1024, MaxHeight = 768, MaxImages = 100_000 };

    private static SweepSpec Parse(string text)
    {
        var result = SweepSpecParser.Parse(text);
        Assert.True(result.IsValid, result.Errors.ToString());
        return result.Spec!;
    }

    private static IReadOnlyDictionary<string, string[]> Errors(string text, Func<string, bool>? served = null)
    {
        var parsed = SweepSpecParser.Parse(text);
        return parsed.IsValid
            ? SweepValidator.Validate(parsed.Spec!, Limits, served ?? (m => m is "tiny" or "tiny2")).ToDictionary()
            : parsed.Errors.ToDictionary();
    }

    private static string Spec(string fields) => $$"""{"model":"tiny","prompts":["a cat"],"seeds":[1],{{fields}}}""";

    [Fact]
    public void Every_axis_parses_from_yaml_as_from_json()
    {
        var yaml = Parse("""
            model: [tiny, tiny2]
            prompts: [a cat]
            negativePrompt: ["", blurry]
            size: [512x512, 768x512]
            clipSkip: [0, 2]
            promptReplace: { find: cat, replace: [dog, fox] }
            loras:
              - { name: style, scale: [0, 0.5, 1] }
              - { name: detail }
            embeddings: [[], [emb1, emb3]]
            zip: [negativePrompt, clipSkip]
            seeds: [1]
            """);
        Assert.Equal(["tiny", "tiny2"], yaml.ModelAxis);
        Assert.Equal("tiny", yaml.Model);
        Assert.Equal(["", "blurry"], yaml.NegativePromptAxis);
        Assert.Equal([new ImageSize(512, 512), new ImageSize(768, 512)], yaml.SizeAxis);
        Assert.Equal([0, 2], yaml.ClipSkips);
        Assert.Equal("cat", yaml.PromptReplace!.Find);
        Assert.Equal(["dog", "fox"], yaml.PromptReplace.Replace);
        Assert.Equal(["style", "detail"], yaml.Loras.Select(l => l.Name));
        Assert.Equal([0, 0.5, 1], yaml.Loras[0].Scales);
        Assert.Equal([1.0], yaml.Loras[1].Scales);
        Assert.Equal(2, yaml.Embeddings.Count);
        Assert.Empty(yaml.Embeddings[0]);
        Assert.Equal(["emb1", "emb3"], yaml.Embeddings[1]);
        Assert.Equal(["negativePrompt", "clipSkip"], Assert.Single(yaml.Zip));
        Assert.Empty(Errors("""{"model":["tiny","tiny2"],"prompts":["a cat"],"negativePrompt":["","blurry"],"size":["512x512","768x512"],"clipSkip":[0,2],"promptReplace":{"find":"cat","replace":["dog","fox"]},"loras":[{"name":"style","scale":[0,0.5,1]},{"name":"detail"}],"embeddings":[[],["emb1","emb3"]],"zip":["negativePrompt","clipSkip"],"seeds":[1]}"""));
    }

    [Fact]
    public void A_flat_embeddings_list_is_one_set_loaded_for_every_image()
    {
        var spec = Parse(Spec("\"embeddings\":[\"emb1\",\"emb3\"]"));
        Assert.Equal(["emb1", "emb3"], Assert.Single(spec.Embeddings));
        Assert.Contains("embeddings", Errors(Spec("\"embeddings\":[\"emb1\",[\"emb3\"]]")).Keys);
    }

    [Fact]
    public void Sizes_that_are_not_WxH_are_errors_per_item()
    {
        var errors = Errors(Spec("\"size\":[\"64x64\",\"64x\",512,\"axb\"]"));
        Assert.StartsWith("\"64x\" is not WxH", Assert.Single(errors["size[1]"]));
        Assert.StartsWith("512 is not WxH", Assert.Single(errors["size[2]"]));
        Assert.Contains("size[3]", errors.Keys);
        Assert.DoesNotContain("size[0]", errors.Keys);
        Assert.Contains("size", Errors(Spec("\"size\":\"64x64\",\"width\":64")).Keys);
    }

    [Fact]
    public void Sizes_are_checked_against_the_limits_per_item()
    {
        var errors = Errors(Spec("\"size\":[\"64x64\",\"65x64\",\"64x1024\"]"));
        Assert.Equal("width must be a multiple of 8 (got 65)", Assert.Single(errors["size[1]"]));
        Assert.Equal("height must be ≤ 768 (got 1024)", Assert.Single(errors["size[2]"]));
        Assert.DoesNotContain("size[0]", errors.Keys);
    }

    [Fact]
    public void Each_model_of_the_list_must_be_served()
    {
        var errors = Errors(Spec("\"clipSkip\":0").Replace("\"model\":\"tiny\"", "\"model\":[\"tiny\",\"sdxl\",\"\"]"));
        Assert.Equal(["model[2]"], errors.Keys.Where(k => k.StartsWith("model", StringComparison.Ordinal)).ToArray());
        var unserved = Errors(Spec("\"clipSkip\":0").Replace("\"model\":\"tiny\"", "\"model\":[\"tiny\",\"sdxl\"]"));
        Assert.Equal("no worker serves model 'sdxl'", Assert.Single(unserved["model[1]"]));
        Assert.Contains("model[1]", Errors(Spec("\"clipSkip\":0").Replace("\"model\":\"tiny\"", "\"model\":[\"tiny\",\"tiny\"]")).Keys);
    }

    [Fact]
    public void Negative_prompts_and_clip_skips_are_checked_per_item()
    {
        Assert.Contains("negativePrompt[1]", Errors(Spec("\"negativePrompt\":[\"ok\",3]")).Keys);
        var errors = Errors(Spec("\"clipSkip\":[0,-1,12]"));
        Assert.Equal(["clipSkip[1]", "clipSkip[2]"], errors.Keys.Order().ToArray());
    }

    [Fact]
    public void Adapter_names_are_checked_for_syntax_naming_the_field()
    {
        var errors = Errors(Spec("""
            "loras":[{"name":"../evil","scale":1},{"name":"ok","scale":[0,"x"]},{"scale":1},{"name":"ok"}],
            "embeddings":[["fine"],["a/b"," pad"]]
            """));
        Assert.Contains("plain file name", errors["loras[0].name"][0]);
        Assert.Contains("loras[1].scale[1]", errors.Keys);
        Assert.Equal("is required", errors["loras[2].name"][0]);
        Assert.Contains("listed twice", errors["loras[3].name"][0]);
        Assert.Contains("embeddings[1][0]", errors.Keys);
        Assert.Contains("embeddings[1][1]", errors.Keys);
        Assert.DoesNotContain("embeddings[0][0]", errors.Keys);
        Assert.Contains("loras[0].scale", Errors(Spec("\"loras\":[{\"name\":\"s\",\"scale\":11}]")).Keys);
    }

    [Fact]
    public void Prompt_replace_needs_a_find_that_occurs_in_a_prompt_and_replacements()
    {
        Assert.Contains("occurs in none of the prompts", Errors(Spec("\"promptReplace\":{\"find\":\"dog\",\"replace\":[\"fox\"]}"))["promptReplace.find"][0]);
        Assert.Equal("leaves prompts[0] empty", Assert.Single(Errors(Spec("\"promptReplace\":{\"find\":\"a cat\",\"replace\":[\"a dog\",\" \"]}"))["promptReplace.replace[1]"]));
        var errors = Errors(Spec("\"promptReplace\":{\"find\":\"\",\"with\":1}"));
        Assert.Equal(["promptReplace.find", "promptReplace.replace", "promptReplace.with"], errors.Keys.Order(StringComparer.Ordinal).ToArray());
    }

    [Fact]
    public void Zipped_axes_must_exist_be_zippable_and_have_equal_lengths()
    {
        var unequal = Errors(Spec("\"steps\":[10,20],\"guidanceScale\":[5,6,7],\"zip\":[\"steps\",\"guidanceScale\"]"));
        Assert.Equal("zipped axes must have equal lengths (steps: 2, guidanceScale: 3)", Assert.Single(unequal["zip"]));
        var bad = Errors(Spec("\"loras\":[{\"name\":\"s\",\"scale\":[0,1]}],\"steps\":[1,2],\"zip\":[[\"seeds\",\"steps\"],[\"colour\",\"loras.s\",\"steps\"]]"));
        Assert.Contains("seeds cannot be zipped", bad["zip[0][0]"][0]);
        Assert.Contains("unknown axis 'colour'", bad["zip[1][0]"][0]);
        Assert.Contains("zipped twice", bad["zip[1][2]"][0]);
        Assert.DoesNotContain("zip[1][1]", bad.Keys);
        Assert.Contains("zip[0]", Errors(Spec("\"promptReplace\":{\"find\":\"cat\",\"replace\":[\"dog\"]},\"zip\":[\"prompts\",\"steps\"]")).Keys);
        Assert.Empty(Errors(Spec("\"loras\":[{\"name\":\"s\",\"scale\":[0,1]}],\"steps\":[1,2],\"zip\":[\"loras.s\",\"steps\"]")));
    }

    [Fact]
    public void The_image_limit_counts_zipped_axes_once_and_prompt_replacements_per_matching_prompt()
    {
        // 2 prompts, one with "cat" → 3 + 1 = 4 prompts × 2 (zipped steps/guidance) × 10,000 seeds = 80,000 images.
        var spec = Parse("""{"model":"tiny","prompts":["a cat","a tree"],"promptReplace":{"find":"cat","replace":["dog","fox"]},"steps":[10,20],"guidanceScale":[5,6],"zip":["steps","guidanceScale"],"seeds":{"start":0,"count":10000}}""");
        Assert.Equal(80_000, SweepValidator.ImageCount(spec));
        Assert.Contains("200000 images", Errors("""{"model":"tiny","prompts":["a"],"size":["64x64","128x128"],"seeds":{"start":0,"count":100000}}""")["$"][0]);
    }
}

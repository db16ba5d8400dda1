using Farm.Shared.Sweeps;
using Xunit;

namespace Farm.Shared.Tests;

public sealed class SweepSpecTests
{
    private static readonly SweepLimits Limits = new() { MaxWidth = 1024, MaxHeight = 768, MaxImages = 1000 };

    private static SweepSpec Parse(string text)
    {
        var result = SweepSpecParser.Parse(text);
        Assert.True(result.IsValid, result.Errors.ToString());
        return result.Spec!;
    }

    private static IReadOnlyDictionary<string, string[]> Errors(string text, Func<string, bool>? served = null) =>
        SweepValidator.Check(text, Limits, served ?? (m => m == "tiny")).Errors.ToDictionary();

    [Fact]
    public void A_json_spec_with_a_seed_range_and_axes_parses_with_defaults_for_what_it_leaves_out()
    {
        var spec = Parse("""{"model":"tiny","prompts":["a","b"],"seeds":{"start":10,"count":3},"guidanceScale":[5,7.5]}""");
        Assert.Equal("tiny", spec.Model);
        Assert.Equal(["a", "b"], spec.Prompts);
        Assert.Equal(3, spec.Seeds.Count);
        Assert.Equal(12, spec.Seeds[2]);
        Assert.Equal([5.0, 7.5], spec.GuidanceScales);
        Assert.Equal([20], spec.Steps);
        Assert.Equal(["euler-a"], spec.Schedulers);
        Assert.Equal((512, 512), (spec.Width, spec.Height));
    }

    [Fact]
    public void A_yaml_spec_reads_the_same_as_its_json_twin()
    {
        var yaml = Parse("""
            model: tiny
            prompts:
              - "a lighthouse: at dusk"
              - a fox
            negativePrompt: blurry
            seeds: [1, 2, 3]
            steps: [10, 20]
            scheduler: ddim
            width: 64
            height: 64
            """);
        var json = Parse("""{"model":"tiny","prompts":["a lighthouse: at dusk","a fox"],"negativePrompt":"blurry","seeds":[1,2,3],"steps":[10,20],"scheduler":"ddim","width":64,"height":64}""");
        Assert.Equal(json.Prompts, yaml.Prompts);
        Assert.Equal(json.Seeds.Count, yaml.Seeds.Count);
        Assert.Equal(json.Steps, yaml.Steps);
        Assert.Equal(json.Schedulers, yaml.Schedulers);
        Assert.Equal((json.Width, json.Height, json.NegativePrompt), (yaml.Width, yaml.Height, yaml.NegativePrompt));
    }

    [Fact]
    public void A_yaml_guidance_list_may_mix_whole_and_fractional_numbers()
    {
        var spec = Parse("""
            model: tiny
            prompts: [a castle]
            seeds: { start: 10, count: 3 }
            guidanceScale: [5, 7.5]
            """);
        Assert.Equal([5.0, 7.5], spec.GuidanceScales);
    }

    [Fact]
    public void Each_bad_field_gets_its_own_error_naming_it()
    {
        var errors = Errors("""{"model":"sdxl","prompts":["ok",""," "],"seeds":[1,-2],"steps":0,"scheduler":["ddim","warp"],"width":100,"height":2048,"colour":1}""");
        Assert.Contains("colour", errors.Keys);
        Assert.Contains("prompts[1]", errors.Keys);
        Assert.Contains("prompts[2]", errors.Keys);
        Assert.Contains("seeds[1]", errors.Keys);
    }

    [Fact]
    public void Limits_are_checked_per_field_after_parsing()
    {
        var errors = Errors("""{"model":"sdxl","prompts":["ok"],"seeds":[1],"steps":0,"scheduler":["ddim","warp"],"width":100,"height":2048}""");
        Assert.Contains("no worker serves model 'sdxl'", errors["model"][0]);
        Assert.Contains("multiple of 8", errors["width"][0]);
        Assert.Contains("≤ 768", errors["height"][0]);
        Assert.Contains("≥ 1", errors["steps"][0]);
        Assert.Contains("unknown scheduler 'warp'", errors["scheduler[1]"][0]);
        Assert.DoesNotContain("scheduler[0]", errors.Keys);
    }

    [Fact]
    public void A_sweep_over_the_image_limit_is_rejected_with_its_size()
    {
        var errors = Errors("""{"model":"tiny","prompts":["a","b"],"seeds":{"start":0,"count":501}}""");
        Assert.Contains("1002 images", errors["$"][0]);
    }

    [Fact]
    public void Missing_required_fields_and_malformed_documents_are_reported()
    {
        var errors = Errors("""{"prompts":[]}""");
        Assert.Equal(["model", "prompts", "seeds"], errors.Keys.Order().ToArray());
        Assert.Contains("$", Errors("{not json").Keys);
        Assert.Contains("$", Errors("- just\n- a list").Keys);
    }

    [Fact]
    public void The_parsers_and_the_validators_errors_come_in_one_round()
    {
        var errors = Errors("""
            model: tiny
            prompts: [""]
            seeds: [1]
            width: 60
            scheduler: foo
            """);
        Assert.Equal(["prompts[0]", "scheduler", "width"], errors.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(["must not be empty"], errors["prompts[0]"]);
        Assert.Contains("multiple of 8", Assert.Single(errors["width"]));
        Assert.Contains("unknown scheduler 'foo'", Assert.Single(errors["scheduler"]));
    }

    [Fact]
    public void A_field_the_parser_rejected_is_not_reported_again_by_the_validator()
    {
        var errors = Errors("""{"prompts":["a", 5, "b"],"seeds":[1],"scheduler":["ddim", 7, "warp"]}""");
        Assert.Equal(["is required"], errors["model"]);
        Assert.Equal(["must be a string"], errors["prompts[1]"]);
        Assert.Equal(["must be a string"], errors["scheduler[1]"]);
        Assert.Contains("unknown scheduler 'warp'", Assert.Single(errors["scheduler[2]"]));
    }

    [Fact]
    public void Errors_are_listed_in_the_specs_field_order_whichever_check_found_them()
    {
        var errors = Errors("""{"colour":1,"height":12,"scheduler":"warp","prompts":["ok",""],"model":"nope","seeds":[1],"steps":[5,0,-1,3,4,5,6,7,8,9,0]}""");
        Assert.Equal(["model", "prompts[1]", "steps[1]", "steps[2]", "steps[10]", "scheduler", "height", "colour"], errors.Keys);
    }

    [Theory]
    [InlineData("model: tiny\nprompts: [a\nseeds: [1]\n", "not valid YAML at line 2, column 10: the value that starts here never ends")]
    [InlineData("model: tiny\n  prompts: x\n", "not valid YAML at line 2, column")]
    [InlineData("{\"model\": \"tiny\",\n \"prompts\": [\"a\" \"b\"]}", "not valid JSON at line 2, column")]
    public void A_syntax_error_names_its_line_and_column(string text, string message)
    {
        var errors = Errors(text);
        Assert.StartsWith(message, Assert.Single(errors["$"]));
        Assert.Single(errors);
    }
}

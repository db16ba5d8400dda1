using Farm.Shared.Sweeps;
using Xunit;

namespace Farm.Shared.Tests;

public sealed class SweepSchedulingFieldsTests
{
    private const string Base = """ "model":"tiny","prompts":["a"],"seeds":[1]""";

    private static SweepParseResult Parse(string fields) => SweepSpecParser.Parse($"{{{Base}{fields}}}");

    [Fact]
    public void Priority_defaults_to_50_and_maxFailedImages_to_the_deployment()
    {
        var spec = Parse("").Spec!;
        Assert.Equal((50, (long?)null), (spec.Priority, spec.MaxFailedImages));
        var set = Parse(""","priority":90,"maxFailedImages":3""");
        Assert.True(set.IsValid, set.Errors.ToString());
        Assert.Equal((90, (long?)3), (set.Spec!.Priority, set.Spec.MaxFailedImages));
    }

    [Fact]
    public void The_render_cache_is_on_unless_the_spec_says_cache_false_and_its_jobs_carry_that()
    {
        Assert.True(Parse("").Spec!.Cache);
        var optedOut = Parse(""","cache":false""");
        Assert.True(optedOut.IsValid, optedOut.Errors.ToString());
        Assert.False(optedOut.Spec!.Cache);
        Assert.False(new SweepPlan(optedOut.Spec, batchSize: 1).Job("s", 0).Cache);
        Assert.True(new SweepPlan(Parse(""","cache":true""").Spec!, batchSize: 1).Job("s", 0).Cache);
        Assert.False(SweepSpecParser.Parse("model: tiny\nprompts: [a]\nseeds: [1]\ncache: false\n").Spec!.Cache);
    }

    [Theory]
    [InlineData(""","cache":"no" """, "cache", "true or false")]
    [InlineData(""","cache":0""", "cache", "true or false")]
    [InlineData(""","priority":101""", "priority", "between 0 and 100")]
    [InlineData(""","priority":-1""", "priority", "between 0 and 100")]
    [InlineData(""" ,"priority":"high" """, "priority", "whole number")]
    [InlineData(""","maxFailedImages":-2""", "maxFailedImages", "≥ 0")]
    [InlineData(""","maxFailedImages":1.5""", "maxFailedImages", "whole number")]
    public void Out_of_range_values_name_their_field(string fields, string field, string message)
    {
        var errors = Parse(fields).Errors.ToDictionary();
        Assert.Contains(message, Assert.Single(errors[field]));
    }

    [Fact]
    public void Both_errors_come_in_one_round_with_the_others() =>
        Assert.Equal(["priority", "maxFailedImages"], Parse(""","priority":200,"maxFailedImages":-1""").Errors.ToDictionary().Keys);
}

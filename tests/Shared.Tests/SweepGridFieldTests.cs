using Farm.Shared.Sweeps;
using Xunit;

namespace Farm.Shared.Tests;

public sealed class SweepGridFieldTests
{
    private const string Base = """ "model":"tiny","prompts":["a","b"],"guidanceScale":[5,7.5],"steps":[10,20],"seeds":[1,2]""";

    private static SweepParseResult Parse(string fields) => SweepSpecParser.Parse($"{{{Base}{fields}}}");

    [Fact]
    public void Grid_names_its_axes_as_the_manifest_does_seeds_included_and_is_optional()
    {
        Assert.Null(Parse("").Spec!.Grid);
        var set = Parse(""","grid":{"x":"guidanceScale","y":"prompts","z":"seeds"}""");
        Assert.True(set.IsValid, set.Errors.ToString());
        Assert.Equal(new GridAxes("guidanceScale", "prompts", "seeds"), set.Spec!.Grid);
        var yaml = SweepSpecParser.Parse("model: tiny\nprompts: [a]\nseeds: [1]\nloras: [{name: style, scale: [0, 1]}]\ngrid: {x: loras.style}\n");
        Assert.True(yaml.IsValid, yaml.Errors.ToString());
        Assert.Equal(new GridAxes("loras.style", null, null), yaml.Spec!.Grid);
    }

    [Theory]
    [InlineData(""","grid":{"x":"cfg"}""", "grid.x", "unknown axis 'cfg'")]
    [InlineData(""","grid":{"y":"seed"}""", "grid.y", "unknown axis 'seed'")]
    [InlineData(""","grid":{"z":"strength"}""", "grid.z", "unknown axis 'strength'")]
    [InlineData(""","grid":{"x":"steps","y":"steps"}""", "grid.y", "same dimension as grid.x")]
    [InlineData(""","zip":["steps","guidanceScale"],"grid":{"x":"steps","y":"guidanceScale"}""", "grid.y", "zipped with it")]
    [InlineData(""","grid":{"x":3}""", "grid.x", "must be an axis name")]
    [InlineData(""","grid":{"w":"steps"}""", "grid.w", "unknown field")]
    [InlineData(""","grid":["steps"]""", "grid", "must be an object")]
    public void A_bad_grid_names_its_field(string fields, string field, string message)
    {
        var errors = Parse(fields).Errors.ToDictionary();
        Assert.True(errors.ContainsKey(field), $"no error for {field}: {string.Join("; ", errors.Select(e => $"{e.Key}: {string.Join(", ", e.Value)}"))}");
        Assert.Contains(message, errors[field][0]);
    }
}

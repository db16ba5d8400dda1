using Farm.Shared.Sweeps;
using Xunit;

namespace Farm.Shared.Tests;

/// <summary>init, mask and strength: parsing, the init image's size as the default, and errors that name the field.</summary>
public sealed class SweepImageFieldsTests
{
    private static readonly SweepLimits Limits = new() { MaxWidth = 1024, MaxHeight = 1024, MaxImages = 100_000 };
    private static readonly string Photo = new('a', 64);
    private static readonly string Mask = new('b', 64);
    private static readonly string Wide = new('c', 64);
    private static readonly string Odd = new('d', 64);

    // Sizes as the coordinator would look them up in the bucket.
    private static ImageSize? AssetSize(string id) =>
        id == Photo || id == Mask ? new ImageSize(640, 448) : id == Wide ? new ImageSize(768, 448) : id == Odd ? new ImageSize(500, 375) : null;

    private static SweepParseResult Check(string fields) =>
        SweepValidator.Check(SweepSpecParser.Parse($$"""{"model":"tiny","prompts":["a cat"],"seeds":[1, 2],{{fields}}}"""), Limits, m => m == "tiny", AssetSize);

    private static IReadOnlyDictionary<string, string[]> Errors(string fields) => Check(fields).Errors.ToDictionary();

    [Fact]
    public void An_init_image_without_a_size_sets_the_render_size_and_the_default_strength()
    {
        var result = Check($"\"init\":\"{Photo}\"");
        Assert.True(result.IsValid, result.Errors.ToString());
        Assert.Equal((640, 448), (result.Spec!.Width, result.Spec.Height));
        Assert.Equal([0.75], result.Spec.Strengths);
        var plan = new SweepPlan(result.Spec, 4);
        var job = plan.Job("sw", 0);
        Assert.Equal((Photo, (string?)null, 0.75, 640, 448), (job.InitAsset, job.MaskAsset, job.Strength!.Value, job.Width, job.Height));
    }

    [Fact]
    public void A_strength_list_is_an_axis_of_the_plan()
    {
        var result = Check($"\"init\":\"{Photo}\",\"mask\":\"{Mask}\",\"strength\":[0.3, 0.8]");
        Assert.True(result.IsValid, result.Errors.ToString());
        var plan = new SweepPlan(result.Spec!, 4);
        Assert.Equal(4, plan.ImageCount);
        Assert.Contains("strength", plan.Axes.AxisNames);
        Assert.Equal([0.3, 0.3, 0.8, 0.8], Enumerable.Range(0, 4).Select(i => plan.Image(i).Strength!.Value));
        Assert.All(Enumerable.Range(0, 4), i => Assert.Equal(Mask, plan.Image(i).Mask));
        Assert.Equal([0.3, 0.8], plan.Jobs("sw").Select(j => j.Strength!.Value));
    }

    [Fact]
    public void Image_ids_change_with_init_mask_and_strength_and_stay_put_without_them()
    {
        var txt2img = new SweepPlan(SweepSpecParser.Parse("""{"model":"tiny","prompts":["a cat"],"seeds":[1],"width":640,"height":448}""").Spec!, 4).Image(0);
        // SHA-256 of "tiny␟a cat␟␟1␟20␟7.5␟euler-a␟640␟448" (python3 hashlib), the id this image had before these fields existed.
        Assert.Equal("c088a29fc768782b", txt2img.Id());
        var img2img = new SweepPlan(Check($"\"init\":\"{Photo}\",\"strength\":[0.3, 0.8]").Spec!, 4);
        var inpaint = new SweepPlan(Check($"\"init\":\"{Photo}\",\"mask\":\"{Mask}\",\"strength\":[0.3, 0.8]").Spec!, 4);
        string[] ids = [txt2img.Id(), img2img.Image(0).Id(), img2img.Image(2).Id(), inpaint.Image(0).Id()];
        Assert.Equal(ids.Length, ids.Distinct().Count());
    }

    [Fact]
    public void Strength_or_mask_without_init_is_an_error_naming_the_field()
    {
        var errors = Errors($"\"strength\":[0.5],\"mask\":\"{Mask}\"");
        Assert.Contains("needs init", errors["strength"][0]);
        Assert.Contains("needs init", errors["mask"][0]);
    }

    [Fact]
    public void Strengths_outside_zero_to_one_are_errors_by_index()
    {
        var errors = Errors($"\"init\":\"{Photo}\",\"strength\":[0, 0.5, 1.5, -1]");
        Assert.Equal(["strength[0]", "strength[2]", "strength[3]"], errors.Keys);
        Assert.Contains("(0, 1]", errors["strength[2]"][0]);
    }

    [Fact]
    public void A_strength_that_leaves_no_step_is_an_error()
    {
        var errors = Errors($"\"init\":\"{Photo}\",\"strength\":0.04,\"steps\":20");
        Assert.Contains("leaves no step", Assert.Single(errors["strength"]));
    }

    [Fact]
    public void A_size_other_than_the_init_images_is_an_error_naming_it()
    {
        var errors = Errors($"\"init\":\"{Photo}\",\"width\":512,\"height\":448");
        Assert.Equal(["width"], errors.Keys);
        Assert.Contains("640x448", errors["width"][0]);
        Assert.Empty(Errors($"\"init\":\"{Photo}\",\"width\":640,\"height\":448"));
        var sizes = Errors($"\"init\":\"{Photo}\",\"size\":[\"640x448\",\"512x512\"]");
        Assert.Equal(["size[1]"], sizes.Keys);
    }

    [Fact]
    public void A_mask_of_another_size_is_an_error_naming_the_mask()
    {
        var errors = Errors($"\"init\":\"{Photo}\",\"mask\":\"{Wide}\"");
        Assert.Equal(["mask"], errors.Keys);
        Assert.Contains("768x448", errors["mask"][0]);
    }

    [Fact]
    public void Unknown_assets_and_bad_ids_are_errors_naming_the_field()
    {
        var unknown = Errors($"\"init\":\"{new string('e', 64)}\"");
        Assert.Contains("no asset", Assert.Single(unknown["init"]));
        var bad = Errors("\"init\":\"./photo.jpg\",\"mask\":42");
        Assert.Contains("asset id", bad["init"][0]);
        Assert.Contains("asset id", bad["mask"][0]);
    }

    [Fact]
    public void An_init_image_that_is_no_render_size_is_an_error_on_init()
    {
        var errors = Errors($"\"init\":\"{Odd}\"");
        Assert.Equal(["init"], errors.Keys);
        Assert.Contains("500x375", errors["init"][0]);
    }

    [Fact]
    public void Strength_can_be_zipped_with_another_axis()
    {
        var result = Check($"\"init\":\"{Photo}\",\"strength\":[0.3, 0.8],\"guidanceScale\":[5, 9],\"zip\":[\"strength\",\"guidanceScale\"]");
        Assert.True(result.IsValid, result.Errors.ToString());
        var plan = new SweepPlan(result.Spec!, 4);
        Assert.Equal([(5.0, 0.3), (9.0, 0.8)], plan.Jobs("sw").Select(j => (j.GuidanceScale, j.Strength!.Value)));
    }
}

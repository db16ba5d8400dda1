using System.Diagnostics;
using Farm.Shared.Sweeps;
using Xunit;

namespace Farm.Shared.Tests;

/// <summary>
/// The image index order of the new axes, pinned from the documented rule (README, "Sweep specs": model, prompts
/// with their S/R variants right after each, negativePrompt, size, guidanceScale, steps, scheduler, clipSkip,
/// loras in spec order, embeddings, seed innermost; zipped axes are one dimension at the place of the first).
/// The expected tables are written out by hand from that rule, not produced by the plan.
/// </summary>
public sealed class SweepAxesPlanTests
{
    private static SweepPlan Plan(string json, int batchSize = 8)
    {
        var parsed = SweepSpecParser.Parse(json);
        Assert.True(parsed.IsValid, parsed.Errors.ToString());
        return new SweepPlan(parsed.Spec!, batchSize);
    }

    private static string Row(ImageParams p) =>
        $"{p.Model}|{p.Prompt}|{string.Join(",", (p.Loras ?? []).Select(l => $"{l.Name}={l.Scale}"))}|{p.Seed}";

    [Fact]
    public void Model_is_outermost_then_prompts_with_their_replacements_then_lora_scales_then_seeds()
    {
        var plan = Plan("""
            {"model":["m1","m2"],"prompts":["a cat","a tree"],"promptReplace":{"find":"cat","replace":["dog"]},
             "loras":[{"name":"style","scale":[0,1]}],"seeds":[1,2]}
            """);
        string[] expected =
        [
            "m1|a cat|style=0|1", "m1|a cat|style=0|2", "m1|a cat|style=1|1", "m1|a cat|style=1|2",
            "m1|a dog|style=0|1", "m1|a dog|style=0|2", "m1|a dog|style=1|1", "m1|a dog|style=1|2",
            "m1|a tree|style=0|1", "m1|a tree|style=0|2", "m1|a tree|style=1|1", "m1|a tree|style=1|2",
            "m2|a cat|style=0|1", "m2|a cat|style=0|2", "m2|a cat|style=1|1", "m2|a cat|style=1|2",
            "m2|a dog|style=0|1", "m2|a dog|style=0|2", "m2|a dog|style=1|1", "m2|a dog|style=1|2",
            "m2|a tree|style=0|1", "m2|a tree|style=0|2", "m2|a tree|style=1|1", "m2|a tree|style=1|2",
        ];
        Assert.Equal(expected.Length, plan.ImageCount);
        Assert.Equal(expected, Enumerable.Range(0, expected.Length).Select(i => Row(plan.Image(i))));
    }

    [Fact]
    public void Negative_prompt_size_guidance_steps_scheduler_clip_skip_and_embeddings_follow_in_that_order()
    {
        var plan = Plan("""
            {"model":"m","prompts":["p"],"negativePrompt":["n1","n2"],"size":["64x64","128x64"],"guidanceScale":[5,7],
             "steps":[10,20],"scheduler":["ddim","euler"],"clipSkip":[0,2],"embeddings":[[],["e"]],"seeds":[9]}
            """);
        Assert.Equal(128, plan.ImageCount);
        string Cell(long i)
        {
            var p = plan.Image(i);
            return $"{p.NegativePrompt} {p.Width}x{p.Height} {p.GuidanceScale} {p.Steps} {p.Scheduler} {p.ClipSkip} [{string.Join(",", p.Embeddings ?? [])}]";
        }
        // Mixed radix, all axes of two values: bit 6 (most significant) is negativePrompt … bit 0 is embeddings.
        Assert.Equal("n1 64x64 5 10 ddim 0 []", Cell(0));
        Assert.Equal("n1 64x64 5 10 ddim 0 [e]", Cell(1));
        Assert.Equal("n1 64x64 5 10 ddim 2 []", Cell(2));
        Assert.Equal("n1 64x64 5 10 euler 0 []", Cell(4));
        Assert.Equal("n1 64x64 5 20 ddim 0 []", Cell(8));
        Assert.Equal("n1 64x64 7 10 ddim 0 []", Cell(16));
        Assert.Equal("n1 128x64 5 10 ddim 0 []", Cell(32));
        Assert.Equal("n2 64x64 5 10 ddim 0 []", Cell(64));
        Assert.Equal("n2 128x64 7 20 euler 2 [e]", Cell(127));
    }

    [Fact]
    public void Prompt_replace_replaces_every_occurrence_in_the_prompt_and_its_negative_and_leaves_other_prompts_single()
    {
        var plan = Plan("""
            {"model":"m","prompts":["cat on a cat","a tree"],"negativePrompt":"ugly cat","promptReplace":{"find":"cat","replace":["dog","fox"]},"seeds":[1]}
            """);
        Assert.Equal(4, plan.ImageCount); // 3 for the prompt with "cat", 1 for the other
        Assert.Equal(
            [("cat on a cat", "ugly cat"), ("dog on a dog", "ugly dog"), ("fox on a fox", "ugly fox"), ("a tree", "ugly cat")],
            Enumerable.Range(0, 4).Select(i => (plan.Image(i).Prompt, plan.Image(i).NegativePrompt)));
    }

    [Fact]
    public void Zipped_axes_pair_up_at_the_place_of_the_first_instead_of_multiplying()
    {
        var plan = Plan("""
            {"model":["m1","m2"],"prompts":["p","q"],"guidanceScale":[5,7],"zip":["guidanceScale","model"],"seeds":[1]}
            """);
        Assert.Equal(4, plan.ImageCount);
        Assert.Equal(
            [("m1", 5.0, "p"), ("m1", 5.0, "q"), ("m2", 7.0, "p"), ("m2", 7.0, "q")],
            Enumerable.Range(0, 4).Select(i => (plan.Image(i).Model, plan.Image(i).GuidanceScale, plan.Image(i).Prompt)));
    }

    [Fact]
    public void Several_zip_groups_each_form_one_dimension()
    {
        var plan = Plan("""
            {"model":"m","prompts":["a","b"],"negativePrompt":["x","y"],"steps":[10,20,30],"scheduler":["ddim","euler","lms"],
             "zip":[["prompts","negativePrompt"],["steps","scheduler"]],"seeds":[1]}
            """);
        Assert.Equal(6, plan.ImageCount);
        Assert.Equal(
            ["a x 10 ddim", "a x 20 euler", "a x 30 lms", "b y 10 ddim", "b y 20 euler", "b y 30 lms"],
            Enumerable.Range(0, 6).Select(i => $"{plan.Image(i).Prompt} {plan.Image(i).NegativePrompt} {plan.Image(i).Steps} {plan.Image(i).Scheduler}"));
    }

    [Fact]
    public void Jobs_carry_their_images_model_size_clip_skip_and_adapters_and_cover_every_index_once()
    {
        var plan = Plan("""
            {"model":["m1","m2"],"prompts":["p"],"size":["64x64","64x128"],"clipSkip":2,
             "loras":[{"name":"style","scale":[0.5,1]},{"name":"detail","scale":0.8}],"embeddings":["e1","e2"],"seeds":[1,2,3]}
            """, batchSize: 2);
        Assert.Equal(2 * 2 * 2 * 3, plan.ImageCount);
        var jobs = plan.Jobs("s").ToList();
        Assert.Equal(8 * 2, jobs.Count);
        Assert.Equal(Enumerable.Range(0, 24).Select(i => (long)i), jobs.SelectMany(j => j.Seeds.Select((_, k) => j.FirstImageIndex + k)));
        foreach (var job in jobs)
            for (var k = 0; k < job.Seeds.Length; k++)
            {
                var image = plan.Image(job.FirstImageIndex + k);
                Assert.Equal((image.Model, image.Width, image.Height, image.ClipSkip, image.Seed), (job.Model, job.Width, job.Height, job.ClipSkip, job.Seeds[k]));
                Assert.Equal(image.Loras, job.Loras);
                Assert.Equal(image.Embeddings, job.Embeddings);
            }
        Assert.Equal(("m1", 64, 64), (jobs[0].Model, jobs[0].Width, jobs[0].Height));
        Assert.Equal([new("style", 0.5), new("detail", 0.8)], jobs[0].Loras!);
        Assert.Equal(["e1", "e2"], jobs[0].Embeddings!);
        Assert.Equal(("m2", 64, 128), (jobs[^1].Model, jobs[^1].Width, jobs[^1].Height));
        Assert.Equal([new("style", 1.0), new("detail", 0.8)], jobs[^1].Loras!);
    }

    [Fact]
    public void Jobs_of_several_models_are_published_round_robin_and_each_exactly_once()
    {
        var plan = Plan("""{"model":["m1","m2","m3"],"prompts":["p","q"],"seeds":[1,2,3]}""", batchSize: 2);
        Assert.Equal(3 * 2 * 2, plan.JobCount); // 3 models × 2 prompts × ceil(3/2) seed chunks; job indices are model-major
        var published = plan.JobsInPublishOrder("s").ToList();
        Assert.Equal(
            ["m1", "m2", "m3", "m1", "m2", "m3", "m1", "m2", "m3", "m1", "m2", "m3"],
            published.Select(j => j.Model));
        Assert.Equal([0L, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11], published.Select(j => j.JobIndex));
        Assert.Equal(published.Skip(5).Select(j => j.JobIndex), plan.JobsInPublishOrder("s", 5).Select(j => j.JobIndex));
        var single = Plan("""{"model":"m","prompts":["p","q"],"seeds":[1,2,3]}""", batchSize: 2);
        Assert.Equal(Enumerable.Range(0, 4).Select(i => (long)i), single.JobsInPublishOrder("s").Select(j => j.JobIndex));
    }

    [Fact]
    public void Adapters_and_clip_skip_change_the_image_id_and_images_without_them_keep_the_old_id()
    {
        var plain = Plan("""{"model":"m","prompts":["p"],"seeds":[1]}""").Image(0);
        // The id as it was before these axes existed: model, prompt, negative, seed, steps, guidance, scheduler, width, height.
        Assert.Equal(ImageIds.For("m", "p", "", 1, 20, 7.5, "euler-a", 512, 512), plain.Id());
        var lora = Plan("""{"model":"m","prompts":["p"],"loras":[{"name":"s","scale":[0,1]}],"seeds":[1]}""");
        Assert.NotEqual(lora.Image(0).Id(), lora.Image(1).Id());
        Assert.NotEqual(plain.Id(), Plan("""{"model":"m","prompts":["p"],"clipSkip":2,"seeds":[1]}""").Image(0).Id());
    }

    [Fact]
    public void A_million_image_sweep_over_the_new_axes_is_planned_instantly()
    {
        var clock = Stopwatch.StartNew();
        var prompts = string.Join(",", Enumerable.Range(0, 250).Select(i => $"\"prompt {i}\""));
        var plan = Plan($$"""
            {"model":["a","b"],"prompts":[{{prompts}}],"size":["64x64","128x128"],"loras":[{"name":"s","scale":[0,1]}],"seeds":{"start":0,"count":500} }
            """, batchSize: 4);
        Assert.Equal(1_000_000, plan.ImageCount);
        var last = plan.Job("s", plan.JobCount - 1);
        Assert.Equal(("b", "prompt 249", 128, 1.0, 999_996L), (last.Model, last.Prompt, last.Width, last.Loras![0].Scale, last.FirstImageIndex));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(1), $"took {clock.Elapsed}");
    }
}

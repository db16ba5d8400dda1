using System.Diagnostics;
using Farm.Shared.Layout;
using Farm.Shared.Sweeps;
using Xunit;

namespace Farm.Shared.Tests;

public sealed class SweepPlanTests
{
    private static SweepSpec Spec(long seeds, params string[] prompts) => new()
    {
        Model = "tiny",
        Prompts = prompts,
        Seeds = SeedAxis.Range(100, seeds),
        GuidanceScales = [5, 7.5],
        Schedulers = ["ddim", "euler"],
    };

    [Fact]
    public void Images_are_indexed_prompt_major_with_seeds_innermost()
    {
        var plan = new SweepPlan(Spec(3, "a", "b"), batchSize: 2);
        Assert.Equal(2 * 2 * 2 * 3, plan.ImageCount);
        var first = plan.Image(0);
        Assert.Equal(("a", 5.0, "ddim", 100L), (first.Prompt, first.GuidanceScale, first.Scheduler, first.Seed));
        Assert.Equal(("a", 5.0, "euler", 100L), (plan.Image(3).Prompt, plan.Image(3).GuidanceScale, plan.Image(3).Scheduler, plan.Image(3).Seed));
        Assert.Equal(("b", 7.5, "euler", 102L), (plan.Image(23).Prompt, plan.Image(23).GuidanceScale, plan.Image(23).Scheduler, plan.Image(23).Seed));
    }

    [Fact]
    public void Jobs_batch_up_to_b_seeds_sharing_everything_else_and_cover_every_image_once()
    {
        var plan = new SweepPlan(Spec(5, "a", "b"), batchSize: 2);
        var jobs = plan.Jobs("s1").ToList();
        Assert.Equal(plan.JobCount, jobs.Count);
        Assert.Equal(8 * 3, jobs.Count); // 8 combinations × ceil(5/2)
        var covered = jobs.SelectMany(j => Enumerable.Range(0, j.Seeds.Length).Select(i => j.FirstImageIndex + i)).ToList();
        Assert.Equal(Enumerable.Range(0, (int)plan.ImageCount).Select(i => (long)i), covered);
        foreach (var job in jobs)
            for (var i = 0; i < job.Seeds.Length; i++)
            {
                var image = plan.Image(job.FirstImageIndex + i);
                Assert.Equal((image.Prompt, image.Seed, image.GuidanceScale, image.Scheduler), (job.Prompt, job.Seeds[i], job.GuidanceScale, job.Scheduler));
            }
        Assert.Equal([104L], jobs[2].Seeds);
    }

    [Fact]
    public void A_million_image_sweep_is_planned_instantly_and_jobs_are_produced_lazily()
    {
        var clock = Stopwatch.StartNew();
        var prompts = Enumerable.Range(0, 1000).Select(i => $"prompt {i}").ToArray();
        var plan = new SweepPlan(new SweepSpec { Model = "tiny", Prompts = prompts, Seeds = SeedAxis.Range(0, 1000) }, batchSize: 4);
        Assert.Equal(1_000_000, plan.ImageCount);
        Assert.Equal(250_000, plan.JobCount);
        var last = plan.Job("s", plan.JobCount - 1);
        Assert.Equal(("prompt 999", 999_996L), (last.Prompt, last.FirstImageIndex));
        Assert.Equal(3, plan.Jobs("s", 100).Take(3).Count());
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(1), $"took {clock.Elapsed}");
    }

    [Fact]
    public void Image_ids_depend_only_on_what_is_rendered()
    {
        var a = new SweepPlan(Spec(3, "a"), 2).Image(1);
        var b = new SweepPlan(Spec(3, "a"), 3).Image(1);
        Assert.Equal(a.Id("tiny"), b.Id("tiny"));
        Assert.NotEqual(a.Id("tiny"), a.Id("other"));
        Assert.Equal(16, a.Id("tiny").Length);
    }

    [Fact]
    public void Keys_are_deterministic_and_below_the_sweeps_prefix()
    {
        Assert.Equal("sweeps/sw-1/images/00000042.png", StorageKeys.Image("sw-1", 42));
        Assert.Equal("sweeps/sw-1/images/00000042.json", StorageKeys.ImageRecord("sw-1", 42));
        Assert.StartsWith(StorageKeys.SweepPrefix("sw-1"), StorageKeys.ContactSheet("sw-1"));
        Assert.Equal("farm:sweep:sw-1:done", new ProgressKeys("farm:").Done("sw-1"));
    }

    [Fact]
    public void The_jobs_for_some_images_render_exactly_those_images_in_runs_of_their_own_jobs()
    {
        // 5 seeds in batches of 2: jobs per combination hold seeds [0,1] [2,3] [4].
        var plan = new SweepPlan(Spec(5, "a") with { GuidanceScales = [5], Schedulers = ["ddim"] }, batchSize: 2);
        Assert.Equal([0L, 0, 1, 1, 2], Enumerable.Range(0, 5).Select(i => plan.JobIndexOf(i)));
        var jobs = plan.JobsForImages("s", [1, 2, 3, 4]).Select(j => $"{j.FirstImageIndex}:{j.JobIndex}:{string.Join(',', j.Seeds)}");
        Assert.Equal(["1:0:101", "2:1:102,103", "4:2:104"], jobs);
        var whole = plan.JobsForImages("s", [0, 1]).Single();
        Assert.Equal([100L, 101], whole.Seeds);
        Assert.Equal(plan.Job("s", 0) with { Seeds = whole.Seeds }, whole);
    }
}

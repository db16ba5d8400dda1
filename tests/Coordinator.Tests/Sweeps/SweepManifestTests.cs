using System.Text.Json.Nodes;
using Farm.Coordinator.Sweeps;
using Farm.Shared.Sweeps;
using Xunit;

namespace Farm.Coordinator.Tests.Sweeps;

/// <summary>
/// The manifest is what a restarted coordinator rebuilds a sweep from: every axis must survive it, or the jobs
/// published after a restart would differ from those before.
/// </summary>
public sealed class SweepManifestTests
{
    private const string EveryAxis = """
        {"model":["m1","m2"],"prompts":["a cat","a tree"],"negativePrompt":["","blurry cat"],"size":["64x64","128x64"],
         "guidanceScale":[5,7],"steps":[4,8],"scheduler":["ddim","euler"],"clipSkip":[0,2],
         "promptReplace":{"find":"cat","replace":["dog",""]},"loras":[{"name":"style","scale":[0,0.5]},{"name":"detail","scale":0.8}],
         "embeddings":[[],["e1","e2"]],"zip":[["steps","scheduler"]],"seeds":{"start":7,"count":3}}
        """;

    [Fact]
    public void The_manifest_keeps_the_creation_time_and_the_tenant_and_older_ones_have_no_tenant()
    {
        var spec = SweepSpecParser.Parse("""{"model":"tiny","prompts":["a"],"seeds":[1]}""").Spec!;
        var created = new DateTimeOffset(2026, 12, 1, 10, 0, 0, TimeSpan.Zero);
        Assert.Equal(new SweepManifest.Header(created, "alice"), SweepManifest.ReadHeader(SweepManifest.Write("sw-1", spec, 1, created, "alice")));
        var older = JsonNode.Parse(SweepManifest.Write("sw-1", spec, 1, created, "alice"))!.AsObject();
        older.Remove("tenant");
        Assert.Equal(new SweepManifest.Header(created, null), SweepManifest.ReadHeader(older.ToJsonString()));
    }

    [Fact]
    public void Cache_false_survives_the_manifest()
    {
        var spec = SweepSpecParser.Parse("""{"model":"tiny","prompts":["a"],"seeds":[1],"cache":false}""").Spec!;
        Assert.False(SweepManifest.Read(SweepManifest.Write("sw-1", spec, 1, DateTimeOffset.UnixEpoch)).Spec.Cache);
        var cached = SweepSpecParser.Parse("""{"model":"tiny","prompts":["a"],"seeds":[1]}""").Spec!;
        Assert.True(SweepManifest.Read(SweepManifest.Write("sw-1", cached, 1, DateTimeOffset.UnixEpoch)).Spec.Cache);
    }

    [Fact]
    public void A_plan_rebuilt_from_the_manifest_has_the_same_images_and_jobs_for_every_axis()
    {
        var parsed = SweepSpecParser.Parse(EveryAxis);
        Assert.True(parsed.IsValid, parsed.Errors.ToString());
        var original = new SweepPlan(parsed.Spec!, batchSize: 2);
        var manifest = SweepManifest.Write("sw-1", parsed.Spec!, 2, DateTimeOffset.UnixEpoch);
        var rebuilt = SweepManifest.Read(manifest);

        // 2 models × (3 + 1 prompts) × 2 negatives × 2 sizes × 2 guidance × 2 (zipped steps/scheduler) × 2 clip skips × 2 scales × 2 sets × 3 seeds.
        Assert.Equal(2L * 4 * 2 * 2 * 2 * 2 * 2 * 2 * 2 * 3, original.ImageCount);
        Assert.Equal((original.ImageCount, original.JobCount, 2), (rebuilt.ImageCount, rebuilt.JobCount, rebuilt.BatchSize));
        for (long i = 0; i < original.ImageCount; i++)
        {
            var (a, b) = (original.Image(i), rebuilt.Image(i));
            Assert.Equal(a.Id(), b.Id());
            Assert.Equal((a.Model, a.Prompt, a.NegativePrompt, a.Width, a.Height, a.ClipSkip), (b.Model, b.Prompt, b.NegativePrompt, b.Width, b.Height, b.ClipSkip));
            Assert.Equal(a.Loras, b.Loras);
            Assert.Equal(a.Embeddings, b.Embeddings);
        }
    }

    [Fact]
    public void The_manifest_lists_the_axes_in_index_order_with_their_counts_and_zip_dimensions()
    {
        var spec = SweepSpecParser.Parse(EveryAxis).Spec!;
        var axes = JsonNode.Parse(SweepManifest.Write("sw-1", spec, 2, DateTimeOffset.UnixEpoch))!["axes"]!.AsArray()
            .Select(a => $"{a!["name"]}:{a["values"]}:{a["dimension"]}").ToArray();
        Assert.Equal(
        [
            "model:2:0", "prompts:4:1", "negativePrompt:2:2", "size:2:3", "guidanceScale:2:4", "steps:2:5", "scheduler:2:5", "clipSkip:2:6",
            "loras.style:2:7", "loras.detail:1:8", "embeddings:2:9", "seeds:3:10",
        ], axes);
    }

    [Fact]
    public void An_img2img_plan_rebuilt_from_the_manifest_keeps_init_mask_strengths_and_the_init_images_size_without_the_asset()
    {
        var (init, mask) = (new string('a', 64), new string('b', 64));
        var checkedSpec = SweepValidator.Check(SweepSpecParser.Parse($$"""{"model":"m1","prompts":["a cat"],"seeds":[1,2],"init":"{{init}}","mask":"{{mask}}","strength":[0.3,0.8]}"""),
            new SweepLimits(), _ => true, _ => new ImageSize(96, 64));
        Assert.True(checkedSpec.IsValid, checkedSpec.Errors.ToString());
        var original = new SweepPlan(checkedSpec.Spec!, batchSize: 2);
        // Read back with no asset lookup at all, as a restarted coordinator does.
        var rebuilt = SweepManifest.Read(SweepManifest.Write("sw-1", checkedSpec.Spec!, 2, DateTimeOffset.UnixEpoch));
        Assert.Equal(4, rebuilt.ImageCount);
        for (long i = 0; i < original.ImageCount; i++)
        {
            var (a, b) = (original.Image(i), rebuilt.Image(i));
            Assert.Equal((a.Id(), init, mask, a.Strength, 96, 64), (b.Id(), b.Init, b.Mask, b.Strength, b.Width, b.Height));
        }
        Assert.Equal(original.Jobs("sw-1").Select(j => (j.InitAsset, j.MaskAsset, j.Strength)), rebuilt.Jobs("sw-1").Select(j => (j.InitAsset, j.MaskAsset, j.Strength)));
    }

    [Fact]
    public void The_webhook_survives_the_manifest()
    {
        var parsed = SweepSpecParser.Parse("""{"model":"m","prompts":["a"],"seeds":[1],"webhook":{"url":"https://example.com/h","events":["sweep"]}}""");
        Assert.True(parsed.IsValid, parsed.Errors.ToString());
        var read = SweepManifest.Read(SweepManifest.Write("sw-1", parsed.Spec!, 1, DateTimeOffset.UnixEpoch)).Spec.Webhook!;
        Assert.Equal("https://example.com/h", read.Url);
        Assert.Equal(["sweep"], read.Events);
    }
}

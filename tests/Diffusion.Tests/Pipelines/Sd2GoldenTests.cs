using System.Text.Json;
using Farm.Diffusion.Imaging;
using Farm.Diffusion.Pipelines;
using Farm.Diffusion.Tests.Golden;
using Farm.Diffusion.Torch;
using Farm.Testing;

namespace Farm.Diffusion.Tests.Pipelines;

/// <summary>The SD 2.x (v-prediction) tiny pipeline through the same render loop; tolerances as for sd-tiny (fixture README).</summary>
public sealed class Sd2GoldenTests : IDisposable
{
    private readonly Lazy<StableDiffusionPipeline> pipeline = new(() =>
        StableDiffusionPipeline.Load(Fixtures.Model(Fixtures.Sd2Tiny), new PipelineOptions { Threads = 2 }));

    public static TheoryData<string> Cases => new()
    {
        "txt2img_ddim_g7.5_s10",
        "txt2img_dpmpp2m_g6_s8_64x96",
        "txt2img_euler_g7_s10_neg",
        "txt2img_eulera_g1_s8",
        "img2img_ddim_str0.6_s10",
    };

    [SkippableTheory]
    [MemberData(nameof(Cases))]
    public void Renders_reproduce_diffusers_step_by_step_and_pixel_for_pixel(string caseId)
    {
        using var golden = GoldenCase.Open(Fixtures.Sd2Tiny, caseId);
        var p = golden.Params;
        RgbImage? init = null;
        if (golden.Has("input_image_uint8"))
        {
            using var pixels = golden.Tensor("input_image_uint8");
            init = new RgbImage((int)pixels.size(1), (int)pixels.size(0), 3, pixels.ToArray<byte>());
        }
        var request = new RenderRequest
        {
            Prompt = p.GetProperty("prompt").GetString()!,
            NegativePrompt = p.GetProperty("negative_prompt").ValueKind == JsonValueKind.String ? p.GetProperty("negative_prompt").GetString() : null,
            Seeds = [p.GetProperty("seed").GetInt64()],
            Steps = p.GetProperty("steps").GetInt32(),
            GuidanceScale = p.GetProperty("guidance_scale").GetDouble(),
            Scheduler = FixtureNames.Scheduler(p.GetProperty("scheduler").GetString()!),
            Width = p.GetProperty("width").GetInt32(),
            Height = p.GetProperty("height").GetInt32(),
            Strength = p.TryGetProperty("strength", out var s) ? s.GetDouble() : 0.8,
            InitImage = init,
        };
        GoldenRender.AssertMatches(pipeline.Value, request, golden, initialTolerance: 1e-4);
    }

    public void Dispose()
    {
        if (pipeline.IsValueCreated) pipeline.Value.Dispose();
    }
}

using System.Text.Json;
using Farm.Diffusion.Pipelines;
using Farm.Diffusion.Models.Unet;
using Farm.Diffusion.Pipelines.Prompts;
using Farm.Diffusion.Schedulers;
using Farm.Diffusion.Tests.Golden;
using Farm.Diffusion.Tests.Pipelines;
using Farm.Diffusion.Torch;
using Farm.Testing;

namespace Farm.Diffusion.Tests.Sdxl;

/// <summary>
/// Whole SDXL txt2img runs against diffusers, plus their parts: the scheduler's leading-spaced schedule, the
/// conditioning (prompt_embeds, add_text_embeds, add_time_ids) and the UNet teacher-forced with the recorded inputs.
/// Tolerances from the fixture README: text encoders 1e-5 abs, single UNet forward 1e-4 abs, per-step latents 1e-4
/// relative to max |value|, uint8 images ±1 on at most 0.1% of values.
/// </summary>
[Collection(SdxlPipelineCollection.Name)]
public sealed class SdxlTxt2ImgGoldenTests(SdxlPipelineFixture fixture)
{
    public static TheoryData<string> Cases => new()
    {
        "txt2img_dpmpp2m_g1_s8_64x96",
        "txt2img_euler_g5_s10_neg",
        "txt2img_eulera_g7_s12_zeroneg_p2",
    };

    [SkippableTheory]
    [MemberData(nameof(Cases))]
    public void Txt2img_reproduces_diffusers_step_by_step_and_pixel_for_pixel(string caseId)
    {
        using var golden = GoldenCase.Open(Fixtures.SdxlTiny, caseId);
        var request = SdxlRenderCase.Request(golden);
        GoldenRender.AssertMatches(fixture.Pipeline, request, golden);
    }

    [SkippableTheory]
    [MemberData(nameof(Cases))]
    public void The_scheduler_from_the_sdxl_config_has_diffusers_timesteps_sigmas_and_init_noise_sigma(string caseId)
    {
        using var golden = GoldenCase.Open(Fixtures.SdxlTiny, caseId);
        var request = SdxlRenderCase.Request(golden);
        using var scheduler = SchedulerFactory.Create(request.Scheduler, SchedulerConfig.Load(Path.Combine(SdxlModel.Dir, "scheduler", "scheduler_config.json")));
        scheduler.SetTimesteps(request.Steps);
        using var timesteps = golden.Tensor("scheduler_timesteps");
        var expected = timesteps.dtype == ScalarType.Int64 ? golden.Longs("scheduler_timesteps").Select(t => (float)t).ToArray() : golden.Floats("scheduler_timesteps");
        Assert.Equal(expected, scheduler.Timesteps);
        var sigmas = scheduler switch
        {
            KarrasSigmaScheduler k => k.Sigmas,
            MultistepScheduler m => m.Sigmas,
            _ => throw new InvalidOperationException(scheduler.Name),
        };
        Assert.Equal(golden.Floats("scheduler_sigmas"), sigmas);
        Assert.Equal((float)golden.Params.GetProperty("init_noise_sigma").GetDouble(), (float)scheduler.InitNoiseSigma);
    }

    [SkippableTheory]
    [MemberData(nameof(Cases))]
    public void The_unet_conditioning_matches_diffusers(string caseId)
    {
        using var golden = GoldenCase.Open(Fixtures.SdxlTiny, caseId);
        var request = SdxlRenderCase.Request(golden);
        using var scope = torch.NewDisposeScope();
        var conditioning = fixture.Pipeline.EncodePrompts(SdxlRenderCase.Inputs(request));
        Close.Assert(golden.Tensor("prompt_embeds"), conditioning.EncoderHiddenStates, 1e-5, "prompt_embeds");
        Close.Assert(golden.Tensor("add_text_embeds"), conditioning.Added!.TextEmbeds, 1e-5, "add_text_embeds");
        Close.Assert(golden.Tensor("add_time_ids"), conditioning.Added.TimeIds, 0, "add_time_ids");
    }

    [SkippableTheory]
    [MemberData(nameof(Cases))]
    public void The_unet_fed_the_recorded_inputs_gives_the_recorded_outputs_at_every_step(string caseId)
    {
        using var golden = GoldenCase.Open(Fixtures.SdxlTiny, caseId);
        using var scope = torch.NewDisposeScope();
        var recorded = new PromptConditioning(golden.Tensor("prompt_embeds"),
            new AddedConditions(golden.Tensor("add_text_embeds"), golden.Tensor("add_time_ids")));
        var inputs = golden.Tensor("unet_inputs");
        var outputs = golden.Tensor("unet_outputs");
        var timesteps = golden.Tensor("timesteps").to(ScalarType.Float32).ToArray<float>();
        for (var i = 0; i < timesteps.Length; i++)
        {
            using var step = torch.NewDisposeScope();
            Close.Assert(outputs.select(0, i), fixture.Pipeline.PredictNoise(inputs.select(0, i), timesteps[i], recorded), 1e-4, $"unet output at step {i}");
        }
    }

    [SkippableTheory]
    [MemberData(nameof(Cases))]
    public void Decoding_the_recorded_final_latents_gives_diffusers_image(string caseId)
    {
        using var golden = GoldenCase.Open(Fixtures.SdxlTiny, caseId);
        using var latents = golden.Tensor("final_latents");
        using var expected = golden.Tensor("image_uint8");
        var images = fixture.Pipeline.Decode(latents);
        PixelAssert.MostlyEqual(expected.ToArray<byte>(), images[0].Pixels, caseId);
    }

    [SkippableFact]
    public void Without_width_and_height_an_sdxl_render_takes_the_unet_sample_size_times_8()
    {
        using var config = JsonDocument.Parse(File.ReadAllText(Path.Combine(SdxlModel.Dir, "unet", "config.json")));
        var native = config.RootElement.GetProperty("sample_size").GetInt32() * 8;
        var images = fixture.Pipeline.Render(new RenderRequest { Prompt = "a boat", Seeds = [1], Steps = 1, Scheduler = "euler" });
        Assert.Equal((native, native), (images[0].Image.Width, images[0].Image.Height));
    }
}

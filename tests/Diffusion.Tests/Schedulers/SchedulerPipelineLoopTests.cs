using Farm.Diffusion.Schedulers;
using Farm.Diffusion.Tests.Golden;
using Farm.Diffusion.Torch;
using Farm.Testing;

namespace Farm.Diffusion.Tests.Schedulers;

/// <summary>
/// The denoising loops of the pipeline cases, teacher-forced: the recorded UNet outputs (after CFG) go through our
/// scheduler and every step's latents must match. This covers img2img's part-way start and the generator shared
/// with the initial-latents draw. Same tolerance as the scheduler cases (README: 1e-5 relative for a scheduler fed
/// recorded outputs; the CFG combination is the same float32 op order as diffusers').
/// </summary>
public class SchedulerPipelineLoopTests
{
    private const double Relative = 1e-5;

    private static readonly Dictionary<string, string> OurNames = new()
    {
        ["ddim"] = "ddim", ["dpmpp_2m_karras"] = "dpm++2m-karras", ["euler_ancestral"] = "euler-a", ["pndm"] = "pndm",
    };

    [SkippableTheory]
    [InlineData("txt2img_ddim_g1.0_s12_64x96")]
    [InlineData("txt2img_dpmpp2mkarras_g7.5_s8")]
    [InlineData("txt2img_eulera_g12_s15")]
    [InlineData("txt2img_pndm_g7.5_s10")]
    [InlineData("img2img_pndm_str0.6_s10")]
    public void The_pipeline_loop_fed_the_recorded_unet_outputs_reproduces_every_step(string caseId)
    {
        using var c = GoldenCase.Open(caseId);
        var p = c.Params;
        var config = SchedulerConfig.Load(Path.Combine(Fixtures.ModelDir, "scheduler", "scheduler_config.json"));
        using var scheduler = SchedulerFactory.Create(OurNames[p.GetProperty("scheduler_name").GetString()!], config);
        var steps = p.GetProperty("steps").GetInt32();
        scheduler.SetTimesteps(steps);

        using var scope = torch.NewDisposeScope();
        using var generator = new Generator(p.GetProperty("seed").GetUInt64());
        var latents = c.Tensor("initial_latents");
        float[] timesteps;
        if (p.TryGetProperty("strength", out var strength))
        {
            var initSteps = Math.Min((int)(steps * strength.GetDouble()), steps);
            var begin = (steps - initSteps) * scheduler.Order;
            timesteps = scheduler.Timesteps[begin..];
            scheduler.SetBeginIndex(begin);
        }
        else
        {
            timesteps = scheduler.Timesteps;
            // txt2img: the initial latents are the generator's first draw × init_noise_sigma.
            Close.Assert(latents, torch.randn(latents.shape, generator) * (float)scheduler.InitNoiseSigma, 0, "initial_latents");
        }
        var recordedTimesteps = c.Tensor("timesteps").to(ScalarType.Float32).ToArray<float>();
        Assert.Equal(recordedTimesteps, timesteps);

        var guidance = p.GetProperty("guidance_scale").GetDouble();
        var unetOutputs = c.Tensor("unet_outputs");
        var stepLatents = c.Tensor("step_latents");
        var atol = Relative * stepLatents.MaxAbs();
        for (var k = 0; k < timesteps.Length; k++)
        {
            var eps = unetOutputs.select(0, k);
            if (guidance > 1)
            {
                var halves = eps.chunk(2);
                eps = halves[0] + (halves[1] - halves[0]) * guidance;
            }
            latents = scheduler.Step(eps, timesteps[k], latents, [generator]);
            Close.Assert(stepLatents.select(0, k), latents, atol, $"{caseId} step_latents[{k}] (t={timesteps[k]})");
        }
    }

    [SkippableFact]
    public void A_batch_with_one_generator_per_image_steps_each_image_as_if_alone()
    {
        using var c = GoldenCase.Open("scheduler_euler_ancestral_10");
        using var scheduler = SchedulerFactory.Create("euler-a", SchedulerConfig.Parse(c.Params.GetProperty("resolved_config").GetRawText()));
        scheduler.SetTimesteps(10);
        using var scope = torch.NewDisposeScope();
        var samples = c.Tensor("samples");
        var outputs = c.Tensor("model_outputs");
        var seed = c.Params.GetProperty("step_generator_seed").GetUInt64();
        using var g0 = new Generator(seed);
        using var g1 = new Generator(seed);
        var x = torch.cat([samples.select(0, 0), samples.select(0, 0)]);
        for (var k = 0; k < 10; k++)
        {
            var t = scheduler.Timesteps[k];
            x = scheduler.Step(torch.cat([outputs.select(0, k), outputs.select(0, k)]), t, x, [g0, g1]);
            var expected = samples.select(0, k + 1);
            Close.Assert(expected, x.narrow(0, 0, 1), 0, $"image 0 after step {k}");
            Close.Assert(expected, x.narrow(0, 1, 1), 0, $"image 1 after step {k}");
        }
    }
}

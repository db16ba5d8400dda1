using Farm.Diffusion.Schedulers;
using Farm.Diffusion.Tests.Golden;
using Farm.Testing;

namespace Farm.Diffusion.Tests.Schedulers;

public class NoiseScheduleTests
{
    [SkippableFact]
    public void Betas_and_alphas_cumprod_from_the_model_config_equal_diffusers_bit_for_bit()
    {
        using var c = GoldenCase.Open("scheduler_common");
        var config = SchedulerConfig.Load(Path.Combine(Fixtures.ModelDir, "scheduler", "scheduler_config.json"));
        var betas = NoiseSchedule.Betas(config);
        Assert.Equal(c.Floats("betas"), betas);
        Assert.Equal(c.Floats("alphas_cumprod"), NoiseSchedule.AlphasCumprod(betas));
    }

    [SkippableFact]
    public void The_model_config_leaves_timestep_spacing_to_each_scheduler_class()
    {
        var config = SchedulerConfig.Load(Path.Combine(Fixtures.ModelDir, "scheduler", "scheduler_config.json"));
        Assert.Null(config.TimestepSpacing);
        Assert.Equal("epsilon", config.PredictionType);
        Assert.Equal(1, config.StepsOffset);
        Assert.False(config.SetAlphaToOne);
        using var ddim = SchedulerFactory.Create("ddim", config);
        using var euler = SchedulerFactory.Create("euler", config);
        using var dpm = SchedulerFactory.Create("dpm++2m", config);
        ddim.SetTimesteps(10);
        euler.SetTimesteps(10);
        dpm.SetTimesteps(10);
        Assert.Equal(901f, ddim.Timesteps[0]); // leading
        Assert.Equal(999f, euler.Timesteps[0]); // linspace
        Assert.Equal(0f, euler.Timesteps[^1]);
        Assert.Equal(100f, dpm.Timesteps[^1]); // linspace over N+1 points, last dropped
    }

    [Fact]
    public void An_unknown_scheduler_name_lists_the_valid_ones()
    {
        var error = Assert.Throws<ArgumentException>(() => SchedulerFactory.Create("euler_a", new SchedulerConfig()));
        foreach (var name in new[] { "ddim", "pndm", "lms", "euler", "euler-a", "dpm++2m", "dpm++2m-karras", "ddpm", "heun", "unipc" })
            Assert.Contains(name, error.Message);
    }
}

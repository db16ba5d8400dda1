using System.Text.Json;
using Farm.Diffusion.Schedulers;
using Farm.Diffusion.Tests.Golden;
using Farm.Diffusion.Torch;
using Xunit.Abstractions;

namespace Farm.Diffusion.Tests.Schedulers;

/// <summary>
/// Every <c>scheduler_*</c> fixture case: timesteps, sigmas, init noise sigma, the trajectory fed the recorded model
/// outputs, the scaled model inputs, the step noise draws and add_noise. Schedulers are thread-independent and were
/// recorded bit-identical on reruns (README "Tolerances"); the README suggests 1e-5 relative to max |value| for a
/// scheduler fed recorded outputs, which is what <see cref="Relative"/> allows.
/// </summary>
public class SchedulerFixtureTests(ITestOutputHelper output)
{
    // README: "schedulers fed the recorded model outputs 1e-5 relative" (to the case's max |value|).
    private const double Relative = 1e-5;

    public static TheoryData<string> Cases()
    {
        var data = new TheoryData<string>();
        foreach (var name in new[] { "ddim", "ddpm", "dpmpp_2m", "dpmpp_2m_karras", "euler", "euler_ancestral", "heun", "lms", "pndm", "unipc" })
        foreach (var steps in new[] { 10, 25 })
            data.Add($"scheduler_{name}_{steps}");
        return data;
    }

    public static TheoryData<string> StochasticCases() =>
        ["scheduler_ddpm_10", "scheduler_ddpm_25", "scheduler_euler_10", "scheduler_euler_25", "scheduler_euler_ancestral_10", "scheduler_euler_ancestral_25"];

    private static readonly Dictionary<string, string> OurNames = new()
    {
        ["ddim"] = "ddim", ["ddpm"] = "ddpm", ["dpmpp_2m"] = "dpm++2m", ["dpmpp_2m_karras"] = "dpm++2m-karras", ["euler"] = "euler",
        ["euler_ancestral"] = "euler-a", ["heun"] = "heun", ["lms"] = "lms", ["pndm"] = "pndm", ["unipc"] = "unipc",
    };

    private static IScheduler Create(GoldenCase c)
    {
        var name = OurNames[c.Params.GetProperty("scheduler_name").GetString()!];
        var config = SchedulerConfig.Parse(c.Params.GetProperty("resolved_config").GetRawText());
        var scheduler = SchedulerFactory.Create(name, config);
        scheduler.SetTimesteps(c.Params.GetProperty("num_inference_steps").GetInt32());
        return scheduler;
    }

    [SkippableTheory]
    [MemberData(nameof(Cases))]
    public void Timesteps_equal_diffusers_exactly(string caseId)
    {
        using var c = GoldenCase.Open(caseId);
        using var scheduler = Create(c);
        using var stored = c.Tensor("timesteps");
        var expected = stored.dtype == ScalarType.Int64 ? c.Longs("timesteps").Select(t => (float)t).ToArray() : c.Floats("timesteps");
        Assert.Equal(expected, scheduler.Timesteps);
        Assert.Equal(c.Params.GetProperty("num_step_calls").GetInt32(), scheduler.Timesteps.Length);
        Assert.Equal(c.Params.GetProperty("order").GetInt32(), scheduler.Order);
        Assert.Equal(stored.dtype == ScalarType.Int64, scheduler.IntegerTimesteps);
    }

    [SkippableTheory]
    [MemberData(nameof(Cases))]
    public void Sigmas_and_init_noise_sigma_equal_diffusers_in_float32(string caseId)
    {
        using var c = GoldenCase.Open(caseId);
        using var scheduler = Create(c);
        // init_noise_sigma is a float32 tensor (sigma schedulers) or the Python float 1.0: compare as float32, exactly.
        Assert.Equal((float)c.Params.GetProperty("init_noise_sigma").GetDouble(), (float)scheduler.InitNoiseSigma);
        if (!c.Has("sigmas")) return;
        var sigmas = scheduler switch
        {
            KarrasSigmaScheduler k => k.Sigmas,
            MultistepScheduler m => m.Sigmas,
            _ => throw new InvalidOperationException($"{scheduler.Name} has no sigmas"),
        };
        Assert.Equal(c.Floats("sigmas"), sigmas);
    }

    [SkippableTheory]
    [MemberData(nameof(Cases))]
    public void Steps_fed_the_recorded_model_outputs_follow_the_recorded_trajectory(string caseId)
    {
        using var c = GoldenCase.Open(caseId);
        using var scheduler = Create(c);
        using var scope = torch.NewDisposeScope();
        var samples = c.Tensor("samples");
        var outputs = c.Tensor("model_outputs");
        var inputs = c.Has("model_inputs") ? c.Tensor("model_inputs") : null;
        var atol = Relative * samples.MaxAbs();

        // samples[0] = noise0 × init_noise_sigma.
        var noise0 = c.Tensor("noise0");
        Close.Assert(samples.select(0, 0), noise0 * (float)scheduler.InitNoiseSigma, 0, "samples[0]");

        var stepSeed = c.Params.GetProperty("step_generator_seed");
        using var generator = stepSeed.ValueKind == JsonValueKind.Number ? new Generator(stepSeed.GetUInt64()) : null;
        Generator[]? generators = generator is null ? null : [generator];

        var x = samples.select(0, 0);
        double worstStep = 0, worstInput = 0;
        var firstInexact = -1;
        for (var k = 0; k < scheduler.Timesteps.Length; k++)
        {
            var t = scheduler.Timesteps[k];
            var modelInput = scheduler.ScaleModelInput(x, t);
            if (inputs is not null)
            {
                worstInput = Math.Max(worstInput, MaxDiff(inputs.select(0, k), modelInput));
                Close.Assert(inputs.select(0, k), modelInput, atol, $"{caseId} model_inputs[{k}]");
            }
            x = scheduler.Step(outputs.select(0, k), t, x, generators);
            var stepDiff = MaxDiff(samples.select(0, k + 1), x);
            if (stepDiff > 0 && firstInexact < 0) firstInexact = k;
            worstStep = Math.Max(worstStep, stepDiff);
            Close.Assert(samples.select(0, k + 1), x, atol, $"{caseId} samples[{k + 1}] (t={t})");
        }
        output.WriteLine($"{caseId}: max |diff| samples {worstStep:G3} (max |value| {samples.MaxAbs():G3}), model_inputs {worstInput:G3}, first inexact step {firstInexact}");
    }

    [SkippableTheory]
    [MemberData(nameof(StochasticCases))]
    public void The_step_generator_draws_are_the_recorded_step_noise(string caseId)
    {
        using var c = GoldenCase.Open(caseId);
        using var scope = torch.NewDisposeScope();
        var stepNoise = c.Tensor("step_noise");
        Assert.Equal(c.Params.GetProperty("num_randn_draws_in_step").GetInt32(), (int)stepNoise.size(0));
        using var generator = new Generator(c.Params.GetProperty("step_generator_seed").GetUInt64());
        for (var k = 0; k < stepNoise.size(0); k++)
            Close.Assert(stepNoise.select(0, k), torch.randn([1, 4, 8, 8], generator), 0, $"step_noise[{k}]");
    }

    [SkippableTheory]
    [MemberData(nameof(Cases))]
    public void Add_noise_matches_diffusers_at_the_recorded_timesteps(string caseId)
    {
        using var c = GoldenCase.Open(caseId);
        using var scheduler = Create(c);
        using var scope = torch.NewDisposeScope();
        var original = c.Tensor("add_noise_original");
        var noise = c.Tensor("add_noise_noise");
        var expected = c.Tensor("add_noise_out");
        var indices = c.Params.GetProperty("add_noise").GetProperty("timestep_indices").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        var atol = Relative * expected.MaxAbs();
        double worst = 0;
        for (var j = 0; j < indices.Length; j++)
        {
            var actual = scheduler.AddNoise(original, noise, scheduler.Timesteps[indices[j]]);
            worst = Math.Max(worst, MaxDiff(expected.select(0, j), actual));
            Close.Assert(expected.select(0, j), actual, atol, $"{caseId} add_noise_out[{j}] (t={scheduler.Timesteps[indices[j]]})");
        }
        output.WriteLine($"{caseId}: add_noise max |diff| {worst:G3}");
    }

    private static double MaxDiff(Tensor expected, Tensor actual)
    {
        using var diff = expected - actual;
        return diff.MaxAbs();
    }
}

using Farm.Diffusion.Torch;

namespace Farm.Diffusion.Schedulers;

/// <summary>
/// The k-diffusion-style schedulers (Euler, Euler ancestral, LMS, Heun): float32 timesteps, a sigma per call with a
/// trailing 0, model input <c>x / (σ² + 1)^0.5</c>, <c>add_noise = x + σ·n</c>, and diffusers' step index that starts
/// at the timestep's position (the second one if it is repeated) or at the begin index. Default spacing: linspace.
/// </summary>
internal abstract class KarrasSigmaScheduler : SchedulerBase
{
    private int? beginIndex;

    protected KarrasSigmaScheduler(string name, SchedulerConfig config) : base(name, config)
    {
    }

    /// <summary>σ per call plus the trailing 0 (float32, as diffusers stores them).</summary>
    public float[] Sigmas { get; protected set; } = [];

    /// <summary>The index of the current call in <see cref="Timesteps"/>; null until the first call.</summary>
    protected int? StepIndex { get; set; }

    protected string Spacing => Config.TimestepSpacing ?? "linspace";

    // max σ with linspace / trailing spacing, (max σ² + 1)^0.5 with leading (float32 tensor math in diffusers).
    public override double InitNoiseSigma
    {
        get
        {
            var max = Sigmas.Max();
            return Spacing is "linspace" or "trailing" ? max : MathF.Sqrt(max * max + 1f);
        }
    }

    public override bool IntegerTimesteps => false;

    /// <summary>
    /// One float32 timestep per step (descending) and the matching float32 sigmas (without the trailing 0): numpy
    /// float32 timesteps, σ interpolated in float64 over the float32 training sigmas (or the Karras ramp with its
    /// timesteps from <c>_sigma_to_t</c>), then cast to float32.
    /// </summary>
    protected (float[] Timesteps, float[] Sigmas) BaseSchedule(int steps)
    {
        var spaced = SigmaMath.Spacing(Spacing, Config.NumTrainTimesteps, steps, Config.StepsOffset);
        var timesteps = new float[steps];
        for (var i = 0; i < steps; i++)
            timesteps[i] = Spacing == "linspace" ? (float)spaced[i] : (float)Math.Round(spaced[i], MidpointRounding.ToEven);
        var training = NoiseSchedule.TrainingSigmas(AlphasCumprod);
        var sigmas = new double[steps];
        for (var i = 0; i < steps; i++) sigmas[i] = SigmaMath.Interp(timesteps[i], training);
        if (Config.UseKarrasSigmas == true)
        {
            // In these classes the Karras ramp spans the interpolated sigmas' own range.
            var logSigmas = SigmaMath.LogSigmas(training);
            sigmas = SigmaMath.KarrasSigmas(sigmas[^1], sigmas[0], steps);
            for (var i = 0; i < steps; i++) timesteps[i] = (float)SigmaMath.SigmaToT(sigmas[i], logSigmas);
        }
        return (timesteps, sigmas.Select(s => (float)s).ToArray());
    }

    protected override void ResetState()
    {
        StepIndex = null;
        beginIndex = null;
    }

    public override void SetBeginIndex(int beginIndex) => this.beginIndex = beginIndex;

    /// <summary>diffusers' <c>index_for_timestep</c>: the position of the timestep, the second one if it is repeated.</summary>
    protected int IndexForTimestep(float timestep)
    {
        var first = Array.IndexOf(Timesteps, timestep);
        if (first < 0) throw new ArgumentException($"timestep {timestep} is not in this scheduler's timesteps", nameof(timestep));
        var second = Array.IndexOf(Timesteps, timestep, first + 1);
        return second >= 0 ? second : first;
    }

    protected int EnsureStepIndex(float timestep)
    {
        StepIndex ??= beginIndex ?? IndexForTimestep(timestep);
        return StepIndex.Value;
    }

    public override Tensor ScaleModelInput(Tensor sample, float timestep)
    {
        var sigma = Sigmas[EnsureStepIndex(timestep)];
        return sample / MathF.Sqrt(sigma * sigma + 1f);
    }

    public override Tensor AddNoise(Tensor original, Tensor noise, float timestep)
    {
        // diffusers: the timestep's index without a begin index (training / tests), else the current or begin index.
        var index = beginIndex is null ? IndexForTimestep(timestep) : StepIndex ?? beginIndex.Value;
        using var scope = torch.NewDisposeScope();
        return scope.MoveToOuter(original + noise * Sigmas[index]);
    }

    /// <summary>x0 from the model output at σ: <c>x − σ·eps</c>, or for v-prediction <c>v·(−σ/(σ²+1)^0.5) + x/(σ²+1)</c>.</summary>
    protected Tensor PredictOriginal(Tensor sample, Tensor modelOutput, float sigma)
    {
        if (!VPrediction) return sample - modelOutput * sigma;
        var s2 = sigma * sigma + 1f;
        return modelOutput * (-sigma / MathF.Sqrt(s2)) + sample / s2;
    }
}

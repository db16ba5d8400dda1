using Farm.Diffusion.Torch;

namespace Farm.Diffusion.Schedulers;

/// <summary>
/// diffusers' <c>DDPMScheduler</c>, variance <c>fixed_small</c>: ancestral sampling with one randn of the latent shape
/// per step while t &gt; 0 (from each image's generator). Default spacing: leading.
/// </summary>
internal sealed class DdpmScheduler : SchedulerBase
{
    public DdpmScheduler(SchedulerConfig config) : base("ddpm", config)
    {
    }

    public override double InitNoiseSigma => 1.0;

    public override bool IntegerTimesteps => true;

    protected override void ComputeTimesteps(int steps)
    {
        var spacing = Config.TimestepSpacing ?? "leading";
        var values = SigmaMath.Spacing(spacing, Config.NumTrainTimesteps, steps, Config.StepsOffset);
        Timesteps = values.Select(v => (float)(long)Math.Round(v, MidpointRounding.ToEven)).ToArray();
    }

    protected override void ResetState()
    {
    }

    public override Tensor Step(Tensor modelOutput, float timestep, Tensor sample, IReadOnlyList<Generator>? generators = null)
    {
        var t = (int)timestep;
        var prevT = t - Config.NumTrainTimesteps / StepCount;
        var alphaProd = AlphasCumprod[t];
        var alphaProdPrev = prevT >= 0 ? AlphasCumprod[prevT] : 1f;
        var betaProd = 1f - alphaProd;
        var betaProdPrev = 1f - alphaProdPrev;
        var currentAlpha = alphaProd / alphaProdPrev;
        var currentBeta = 1f - currentAlpha;

        using var scope = torch.NewDisposeScope();
        var predOriginal = VPrediction
            ? sample * MathF.Sqrt(alphaProd) - modelOutput * MathF.Sqrt(betaProd)
            : (sample - modelOutput * MathF.Sqrt(betaProd)) / MathF.Sqrt(alphaProd);
        if (Config.ClipSample ?? true)
            predOriginal = predOriginal.clamp(-Config.ClipSampleRange, Config.ClipSampleRange);

        var originalCoeff = MathF.Sqrt(alphaProdPrev) * currentBeta / betaProd;
        var currentCoeff = MathF.Sqrt(currentAlpha) * betaProdPrev / betaProd;
        var prev = predOriginal * originalCoeff + sample * currentCoeff;
        if (t > 0)
        {
            var noise = Randn(modelOutput.shape, generators, "DDPM");
            // fixed_small: (1 − ᾱprev) / (1 − ᾱ) · β_t, clamped at 1e-20.
            var variance = MathF.Max(betaProdPrev / betaProd * (1f - alphaProd / alphaProdPrev), 1e-20f);
            prev = prev + noise * MathF.Sqrt(variance);
        }
        return scope.MoveToOuter(prev);
    }

    public override Tensor AddNoise(Tensor original, Tensor noise, float timestep) => AddNoiseAlpha(original, noise, (int)timestep);
}

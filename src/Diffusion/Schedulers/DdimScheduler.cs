using Farm.Diffusion.Torch;

namespace Farm.Diffusion.Schedulers;

/// <summary>diffusers' <c>DDIMScheduler</c> with eta = 0 (deterministic; no generator use). Default spacing: leading.</summary>
internal sealed class DdimScheduler : SchedulerBase
{
    private readonly float finalAlphaCumprod;

    public DdimScheduler(SchedulerConfig config) : base("ddim", config)
    {
        finalAlphaCumprod = config.SetAlphaToOne ?? true ? 1f : AlphasCumprod[0];
    }

    public override double InitNoiseSigma => 1.0;

    public override bool IntegerTimesteps => true;

    protected override void ComputeTimesteps(int steps)
    {
        var spaced = Config.TimestepSpacing ?? "leading";
        var values = SigmaMath.Spacing(spaced, Config.NumTrainTimesteps, steps, Config.StepsOffset);
        // linspace is rounded (half to even) before the int64 cast; leading/trailing are integral already.
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
        var alphaProdPrev = prevT >= 0 ? AlphasCumprod[prevT] : finalAlphaCumprod;
        var betaProd = 1f - alphaProd;

        using var scope = torch.NewDisposeScope();
        Tensor predOriginal, predEpsilon;
        if (VPrediction)
        {
            predOriginal = sample * MathF.Sqrt(alphaProd) - modelOutput * MathF.Sqrt(betaProd);
            predEpsilon = modelOutput * MathF.Sqrt(alphaProd) + sample * MathF.Sqrt(betaProd);
        }
        else
        {
            predOriginal = (sample - modelOutput * MathF.Sqrt(betaProd)) / MathF.Sqrt(alphaProd);
            predEpsilon = modelOutput;
        }
        if (Config.ClipSample ?? true)
            predOriginal = predOriginal.clamp(-Config.ClipSampleRange, Config.ClipSampleRange);

        // eta = 0: std_dev_t = 0, so the direction coefficient is (1 − ᾱprev − 0)^0.5.
        var direction = predEpsilon * MathF.Sqrt(1f - alphaProdPrev - 0f);
        return scope.MoveToOuter(predOriginal * MathF.Sqrt(alphaProdPrev) + direction);
    }

    public override Tensor AddNoise(Tensor original, Tensor noise, float timestep) => AddNoiseAlpha(original, noise, (int)timestep);
}

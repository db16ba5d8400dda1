using Farm.Diffusion.Torch;

namespace Farm.Diffusion.Schedulers;

/// <summary>
/// What DPM-Solver++ (multistep) and UniPC share: int64 timesteps spaced over N+1 points, sigmas with a final value,
/// the data-prediction (x0) conversion with α_t = 1/(σ²+1)^0.5, σ_t = σ·α_t, λ = log α_t − log σ_t, a history of
/// converted model outputs, diffusers' step index (a timestep not in the list maps to the last index) and
/// <c>add_noise = α_t·x + σ_t·n</c>. Default spacing: linspace.
/// </summary>
internal abstract class MultistepScheduler : SchedulerBase
{
    protected const int SolverOrder = 2;
    private int? beginIndex;

    protected MultistepScheduler(string name, SchedulerConfig config) : base(name, config)
    {
    }

    /// <summary>σ per step plus the final σ (0 for DPM++'s <c>final_sigmas_type="zero"</c>, σ_min for UniPC), float32.</summary>
    public float[] Sigmas { get; private set; } = [];

    protected int? StepIndex { get; set; }

    /// <summary>Converted model outputs (x0 predictions), newest last, at most <see cref="SolverOrder"/>.</summary>
    protected List<Tensor> ModelOutputs { get; } = [];

    /// <summary>How many steps have filled the history (diffusers' <c>lower_order_nums</c>, capped at the solver order).</summary>
    protected int LowerOrderNums { get; set; }

    public override double InitNoiseSigma => 1.0;

    public override bool IntegerTimesteps => true;

    /// <summary>The appended last sigma: 0 (DPM++) or σ at t = 0 (UniPC).</summary>
    protected abstract float FinalSigma();

    protected override void ComputeTimesteps(int steps)
    {
        var spacing = Config.TimestepSpacing ?? "linspace";
        var training = NoiseSchedule.TrainingSigmas(AlphasCumprod);
        double[] sigmas;
        long[] timesteps;
        if (Config.UseKarrasSigmas == true)
        {
            // Karras ramp over the full training range; timesteps from log-σ interpolation, rounded (half to even).
            var logSigmas = SigmaMath.LogSigmas(training);
            sigmas = SigmaMath.KarrasSigmas(training[0], training[^1], steps);
            timesteps = sigmas.Select(s => (long)Math.Round(SigmaMath.SigmaToT(s, logSigmas), MidpointRounding.ToEven)).ToArray();
        }
        else
        {
            timesteps = SigmaMath.MultistepSpacing(spacing, Config.NumTrainTimesteps, steps, Config.StepsOffset);
            sigmas = timesteps.Select(t => SigmaMath.Interp(t, training)).ToArray();
        }
        Sigmas = [.. sigmas.Select(s => (float)s), FinalSigma()];
        Timesteps = timesteps.Select(t => (float)t).ToArray();
    }

    protected override void ResetState()
    {
        DisposeAll(ModelOutputs);
        LowerOrderNums = 0;
        StepIndex = null;
        beginIndex = null;
    }

    public override void SetBeginIndex(int beginIndex) => this.beginIndex = beginIndex;

    private int IndexForTimestep(float timestep)
    {
        var first = Array.IndexOf(Timesteps, timestep);
        if (first < 0) return Timesteps.Length - 1;
        var second = Array.IndexOf(Timesteps, timestep, first + 1);
        return second >= 0 ? second : first;
    }

    protected int EnsureStepIndex(float timestep)
    {
        StepIndex ??= beginIndex ?? IndexForTimestep(timestep);
        return StepIndex.Value;
    }

    /// <summary>(α_t, σ_t) of a sigma, as diffusers' <c>_sigma_to_alpha_sigma_t</c> in float32.</summary>
    protected static (float Alpha, float Sigma) AlphaSigma(float sigma)
    {
        var alpha = 1f / MathF.Sqrt(sigma * sigma + 1f);
        return (alpha, sigma * alpha);
    }

    /// <summary>λ = log α − log σ with libtorch's float32 log (+∞ at σ = 0).</summary>
    protected static float Lambda(float alpha, float sigma) => Log(alpha) - Log(sigma);

    protected float LambdaAt(int index)
    {
        var (alpha, sigma) = AlphaSigma(Sigmas[index]);
        return Lambda(alpha, sigma);
    }

    /// <summary>diffusers' <c>convert_model_output</c> for data prediction: x0 = (x − σ_t·eps)/α_t, or α_t·x − σ_t·v.</summary>
    protected Tensor ConvertModelOutput(Tensor modelOutput, Tensor sample, int index)
    {
        var (alpha, sigma) = AlphaSigma(Sigmas[index]);
        return VPrediction ? sample * alpha - modelOutput * sigma : (sample - modelOutput * sigma) / alpha;
    }

    /// <summary>Appends a converted output (taking ownership) and drops the oldest beyond the solver order.</summary>
    protected void PushModelOutput(Tensor converted)
    {
        ModelOutputs.Add(converted.DetachFromDisposeScope());
        while (ModelOutputs.Count > SolverOrder)
        {
            ModelOutputs[0].Dispose();
            ModelOutputs.RemoveAt(0);
        }
    }

    public override Tensor AddNoise(Tensor original, Tensor noise, float timestep)
    {
        var index = beginIndex is null ? IndexForTimestep(timestep) : StepIndex ?? beginIndex.Value;
        var (alpha, sigma) = AlphaSigma(Sigmas[index]);
        using var scope = torch.NewDisposeScope();
        return scope.MoveToOuter(original * alpha + noise * sigma);
    }
}

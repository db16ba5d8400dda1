using Farm.Diffusion.Torch;

namespace Farm.Diffusion.Schedulers;

/// <summary>
/// diffusers' <c>PNDMScheduler</c> with <c>skip_prk_steps</c> (pure PLMS, what SD1.x ships). N steps give N+1 calls:
/// the second timestep is duplicated and its call is the corrector of the first interval. It has no begin index:
/// img2img starts it on a later timestep and the counter logic starts there (see <see cref="IScheduler"/>).
/// </summary>
internal sealed class PndmScheduler : SchedulerBase
{
    private readonly float finalAlphaCumprod;
    // Model outputs of the PLMS history (the last four), and the sample the corrector call restarts from.
    private readonly List<Tensor> ets = [];
    private Tensor? curSample;
    private int counter;

    public PndmScheduler(SchedulerConfig config) : base("pndm", config)
    {
        if (config.SkipPrkSteps == false)
            throw new NotSupportedException("PNDM with Runge-Kutta warm-up steps (skip_prk_steps=false) is not supported");
        finalAlphaCumprod = config.SetAlphaToOne ?? true ? 1f : AlphasCumprod[0];
    }

    public override double InitNoiseSigma => 1.0;

    public override bool IntegerTimesteps => true;

    private int Delta => Config.NumTrainTimesteps / StepCount;

    protected override void ComputeTimesteps(int steps)
    {
        var spacing = Config.TimestepSpacing ?? "leading";
        double[] ascending;
        switch (spacing)
        {
            case "leading":
                ascending = Enumerable.Range(0, steps).Select(i => (double)i * Delta + Config.StepsOffset).ToArray();
                break;
            case "linspace":
                ascending = SigmaMath.Linspace(0, Config.NumTrainTimesteps - 1, steps).Select(v => Math.Round(v, MidpointRounding.ToEven)).ToArray();
                break;
            case "trailing":
                ascending = SigmaMath.Spacing("trailing", Config.NumTrainTimesteps, steps, 0).Reverse().ToArray();
                break;
            default:
                throw new NotSupportedException($"timestep_spacing '{spacing}' is not supported (linspace, leading, trailing)");
        }
        // plms = concat(ts[:-1], ts[-2:-1], ts[-1:])[::-1]: descending with the second value repeated.
        var plms = new List<double>(ascending[..^1]);
        if (ascending.Length >= 2) plms.Add(ascending[^2]);
        plms.Add(ascending[^1]);
        plms.Reverse();
        Timesteps = plms.Select(v => (float)(long)v).ToArray();
    }

    protected override void ResetState()
    {
        DisposeAll(ets);
        curSample?.Dispose();
        curSample = null;
        counter = 0;
    }

    public override Tensor Step(Tensor modelOutput, float timestep, Tensor sample, IReadOnlyList<Generator>? generators = null)
    {
        var t = (int)timestep;
        var prevT = t - Delta;
        using var scope = torch.NewDisposeScope();
        if (counter != 1)
        {
            while (ets.Count > 3)
            {
                ets[0].Dispose();
                ets.RemoveAt(0);
            }
            ets.Add(modelOutput.clone().DetachFromDisposeScope());
        }
        else
        {
            // The corrector call repeats the first interval: from t + Δ to t.
            prevT = t;
            t += Delta;
        }

        Tensor eps;
        if (ets.Count == 1 && counter == 0)
        {
            eps = modelOutput;
            curSample = sample.clone().DetachFromDisposeScope();
        }
        else if (ets.Count == 1 && counter == 1)
        {
            eps = (modelOutput + ets[^1]) / 2.0;
            sample = curSample!;
        }
        else if (ets.Count == 2)
            eps = (3.0 * ets[^1] - ets[^2]) / 2.0;
        else if (ets.Count == 3)
            eps = (23.0 * ets[^1] - 16.0 * ets[^2] + 5.0 * ets[^3]) / 12.0;
        else
            eps = (1.0 / 24) * (55.0 * ets[^1] - 59.0 * ets[^2] + 37.0 * ets[^3] - 9.0 * ets[^4]);

        var result = PrevSample(sample, t, prevT, eps);
        if (counter == 1)
        {
            curSample!.Dispose();
            curSample = null;
        }
        counter++;
        return scope.MoveToOuter(result);
    }

    // x' = (ᾱprev/ᾱ)^0.5·x − (ᾱprev − ᾱ)·eps / (ᾱ·(1−ᾱprev)^0.5 + (ᾱ(1−ᾱ)ᾱprev)^0.5), formula (9) of the PNDM paper.
    private Tensor PrevSample(Tensor sample, int t, int prevT, Tensor modelOutput)
    {
        var alphaProd = AlphasCumprod[t];
        var alphaProdPrev = prevT >= 0 ? AlphasCumprod[prevT] : finalAlphaCumprod;
        var betaProd = 1f - alphaProd;
        var betaProdPrev = 1f - alphaProdPrev;
        if (VPrediction)
            modelOutput = modelOutput * MathF.Sqrt(alphaProd) + sample * MathF.Sqrt(betaProd);
        var sampleCoeff = MathF.Sqrt(alphaProdPrev / alphaProd);
        var denominator = alphaProd * MathF.Sqrt(betaProdPrev) + MathF.Sqrt(alphaProd * betaProd * alphaProdPrev);
        return sample * sampleCoeff - modelOutput * (alphaProdPrev - alphaProd) / denominator;
    }

    public override Tensor AddNoise(Tensor original, Tensor noise, float timestep) => AddNoiseAlpha(original, noise, (int)timestep);
}

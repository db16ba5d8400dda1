using Farm.Diffusion.Torch;

namespace Farm.Diffusion.Schedulers;

/// <summary>
/// diffusers' <c>UniPCMultistepScheduler</c> with its defaults: order 2, <c>bh2</c>, data prediction, UniC corrector
/// from the second step on (applied to the incoming sample with the new model output), <c>lower_order_final</c>.
/// The final sigma is σ at t = 0 (no <c>final_sigmas_type</c> in diffusers 0.27's UniPC).
/// </summary>
internal sealed class UniPcMultistepScheduler : MultistepScheduler
{
    private Tensor? lastSample;
    private int thisOrder;

    public UniPcMultistepScheduler(SchedulerConfig config) : base("unipc", config)
    {
    }

    protected override float FinalSigma() => MathF.Sqrt((1f - AlphasCumprod[0]) / AlphasCumprod[0]);

    protected override void ResetState()
    {
        base.ResetState();
        lastSample?.Dispose();
        lastSample = null;
        thisOrder = 0;
    }

    public override Tensor Step(Tensor modelOutput, float timestep, Tensor sample, IReadOnlyList<Generator>? generators = null)
    {
        var index = EnsureStepIndex(timestep);
        using var scope = torch.NewDisposeScope();
        var converted = ConvertModelOutput(modelOutput, sample, index);
        if (index > 0 && lastSample is not null)
            sample = Corrector(converted, lastSample, sample, index, thisOrder);

        PushModelOutput(converted);
        thisOrder = Math.Min(Math.Min(SolverOrder, Timesteps.Length - index), LowerOrderNums + 1);

        lastSample?.Dispose();
        // The corrected sample is the next corrector's starting point; it may be the caller's tensor, so copy that.
        lastSample = (sample.Scope == scope ? sample : sample.clone()).DetachFromDisposeScope();
        var prev = Predictor(lastSample, index, thisOrder);
        if (LowerOrderNums < SolverOrder) LowerOrderNums++;
        StepIndex = index + 1;
        return scope.MoveToOuter(prev);
    }

    // UniP-bh2: x_t = (σ_t/σ_s0)·x − α_t·φ₁·m0 − α_t·B_h·0.5·D1 (order 2), with hh = −h, φ₁ = B_h = expm1(hh).
    private Tensor Predictor(Tensor x, int index, int order)
    {
        var (alphaT, sigmaT) = AlphaSigma(Sigmas[index + 1]);
        var (alphaS0, sigmaS0) = AlphaSigma(Sigmas[index]);
        var lambdaS0 = Lambda(alphaS0, sigmaS0);
        var h = Lambda(alphaT, sigmaT) - lambdaS0;
        var m0 = ModelOutputs[^1];
        var hPhi1 = Expm1(-h);
        var bH = hPhi1;
        var result = x * (sigmaT / sigmaS0) - m0 * (alphaT * hPhi1);
        if (order < 2) return result;
        // order 2 uses rho_p = 0.5 on the single D1.
        var rk = (LambdaAt(index - 1) - lambdaS0) / h;
        var d1 = (ModelOutputs[^2] - m0) / rk;
        var predRes = d1 * 0.5f;
        return result - predRes * (alphaT * bH);
    }

    // UniC-bh2 of order p: corrects this_sample using the new model output model_t.
    private Tensor Corrector(Tensor modelT, Tensor last, Tensor thisSample, int index, int order)
    {
        var (alphaT, sigmaT) = AlphaSigma(Sigmas[index]);
        var (alphaS0, sigmaS0) = AlphaSigma(Sigmas[index - 1]);
        var lambdaS0 = Lambda(alphaS0, sigmaS0);
        var h = Lambda(alphaT, sigmaT) - lambdaS0;
        var m0 = ModelOutputs[^1];
        var hh = -h;
        var hPhi1 = Expm1(hh);
        var bH = hPhi1;

        float rhoLast;
        Tensor? corrRes = null;
        if (order == 1)
            rhoLast = 0.5f;
        else
        {
            // rks = [r, 1]; R = [[1, 1], [r, 1]]; b_i = h_phi_k·i!/B_h with h_phi_k = h_phi_k/hh − 1/(i+1)!.
            var rk = (LambdaAt(index - 2) - lambdaS0) / h;
            var d1 = (ModelOutputs[^2] - m0) / rk;
            var hPhiK = hPhi1 / hh - 1f;
            var b0 = hPhiK * 1f / bH;
            hPhiK = hPhiK / hh - 0.5f;
            var b1 = hPhiK * 2f / bH;
            var (rho0, rho1) = Solve2(rk, b0, b1);
            corrRes = d1 * rho0;
            rhoLast = rho1;
        }
        var xT = last * (sigmaT / sigmaS0) - m0 * (alphaT * hPhi1);
        var d1T = modelT - m0;
        var correction = d1T * rhoLast;
        if (corrRes is not null) correction = corrRes + correction;
        return xT - correction * (alphaT * bH);
    }

    /// <summary>torch.expm1 of a float32 value (evaluated in double, then rounded).</summary>
    private static float Expm1(float x) => (float)(Math.Exp(x) - 1.0);

    /// <summary>
    /// torch.linalg.solve(R, b) for R = [[1, 1], [r, 1]] (float32 LAPACK in diffusers): solved in double and rounded,
    /// i.e. the correctly rounded float32 solution, which is what the reference run's LAPACK produced here (a float
    /// LU with or without FMAs was 1 ulp off on the fixtures).
    /// </summary>
    private static (float, float) Solve2(float r, float b0, float b1)
    {
        var x1 = ((double)b1 - (double)r * b0) / (1.0 - r);
        var x0 = b0 - x1;
        return ((float)x0, (float)x1);
    }
}

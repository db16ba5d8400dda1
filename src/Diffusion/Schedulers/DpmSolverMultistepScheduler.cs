using Farm.Diffusion.Torch;

namespace Farm.Diffusion.Schedulers;

/// <summary>
/// diffusers' <c>DPMSolverMultistepScheduler</c> as DPM-Solver++(2M): <c>algorithm_type="dpmsolver++"</c>,
/// <c>solver_type="midpoint"</c>, <c>solver_order=2</c>, <c>final_sigmas_type="zero"</c>, <c>lower_order_final</c>;
/// <c>use_karras_sigmas</c> gives DPM++ 2M Karras. The first step is first order and so is the last (σ_last = 0).
/// </summary>
internal sealed class DpmSolverMultistepScheduler : MultistepScheduler
{
    public DpmSolverMultistepScheduler(string name, SchedulerConfig config) : base(name, config)
    {
    }

    protected override float FinalSigma() => 0f;

    public override Tensor Step(Tensor modelOutput, float timestep, Tensor sample, IReadOnlyList<Generator>? generators = null)
    {
        var index = EnsureStepIndex(timestep);
        var steps = Timesteps.Length;
        // final_sigmas_type "zero" always makes the last step first order.
        var lowerOrderFinal = index == steps - 1;

        using var scope = torch.NewDisposeScope();
        PushModelOutput(ConvertModelOutput(modelOutput, sample, index));
        var prev = LowerOrderNums < 1 || lowerOrderFinal ? FirstOrderUpdate(sample, index) : SecondOrderUpdate(sample, index);
        if (LowerOrderNums < SolverOrder) LowerOrderNums++;
        StepIndex = index + 1;
        return scope.MoveToOuter(prev);
    }

    // x_t = (σ_t/σ_s)·x − α_t·(e^{−h} − 1)·x0 (DDIM in λ).
    private Tensor FirstOrderUpdate(Tensor sample, int index)
    {
        var (alphaT, sigmaT) = AlphaSigma(Sigmas[index + 1]);
        var (alphaS, sigmaS) = AlphaSigma(Sigmas[index]);
        var h = Lambda(alphaT, sigmaT) - Lambda(alphaS, sigmaS);
        return sample * (sigmaT / sigmaS) - ModelOutputs[^1] * (alphaT * (Exp(-h) - 1f));
    }

    // Midpoint 2M: D0 = m0, D1 = (m0 − m1)/r0, x_t = (σ_t/σ_s0)·x − c·D0 − 0.5·c·D1 with c = α_t·(e^{−h} − 1).
    private Tensor SecondOrderUpdate(Tensor sample, int index)
    {
        var (alphaT, sigmaT) = AlphaSigma(Sigmas[index + 1]);
        var (alphaS0, sigmaS0) = AlphaSigma(Sigmas[index]);
        var (alphaS1, sigmaS1) = AlphaSigma(Sigmas[index - 1]);
        var lambdaT = Lambda(alphaT, sigmaT);
        var lambdaS0 = Lambda(alphaS0, sigmaS0);
        var lambdaS1 = Lambda(alphaS1, sigmaS1);
        var m0 = ModelOutputs[^1];
        var m1 = ModelOutputs[^2];
        var h = lambdaT - lambdaS0;
        var h0 = lambdaS0 - lambdaS1;
        var r0 = h0 / h;
        var d1 = (m0 - m1) * (1f / r0);
        var c = alphaT * (Exp(-h) - 1f);
        return sample * (sigmaT / sigmaS0) - m0 * c - d1 * (0.5f * c);
    }
}

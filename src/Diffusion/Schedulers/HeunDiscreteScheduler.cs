using Farm.Diffusion.Torch;

namespace Farm.Diffusion.Schedulers;

/// <summary>
/// diffusers' <c>HeunDiscreteScheduler</c> (order 2): N steps are 2N−1 calls over interleaved timesteps
/// <c>[t₀, t₁, t₁, t₂, t₂, …]</c>; every second call is the corrector, averaging the two derivatives.
/// </summary>
internal sealed class HeunDiscreteScheduler : KarrasSigmaScheduler
{
    // First-order state kept for the corrector call.
    private Tensor? prevDerivative;
    private Tensor? firstSample;
    private float dt;

    public HeunDiscreteScheduler(SchedulerConfig config) : base("heun", config)
    {
    }

    public override int Order => 2;

    private bool InFirstOrder => prevDerivative is null;

    protected override void ComputeTimesteps(int steps)
    {
        var (timesteps, sigmas) = BaseSchedule(steps);
        // cat([x[:1], x[1:].repeat_interleave(2)]) for timesteps; sigmas the same with the trailing 0 once.
        Timesteps = [timesteps[0], .. timesteps[1..].SelectMany(t => new[] { t, t })];
        Sigmas = [sigmas[0], .. sigmas[1..].SelectMany(s => new[] { s, s }), 0f];
    }

    protected override void ResetState()
    {
        base.ResetState();
        ClearFirstOrder();
    }

    private void ClearFirstOrder()
    {
        prevDerivative?.Dispose();
        prevDerivative = null;
        firstSample?.Dispose();
        firstSample = null;
    }

    public override Tensor Step(Tensor modelOutput, float timestep, Tensor sample, IReadOnlyList<Generator>? generators = null)
    {
        var index = EnsureStepIndex(timestep);
        var firstOrder = InFirstOrder;
        var sigma = firstOrder ? Sigmas[index] : Sigmas[index - 1];
        var sigmaNext = firstOrder ? Sigmas[index + 1] : Sigmas[index];

        using var scope = torch.NewDisposeScope();
        // gamma = 0: sigma_hat = sigma. The corrector evaluates x0 at sigma_next.
        var predOriginal = PredictOriginal(sample, modelOutput, firstOrder ? sigma : sigmaNext);
        if (Config.ClipSample == true)
            predOriginal = predOriginal.clamp(-Config.ClipSampleRange, Config.ClipSampleRange);

        Tensor prev;
        if (firstOrder)
        {
            var derivative = (sample - predOriginal) / sigma;
            dt = sigmaNext - sigma;
            prev = sample + derivative * dt;
            prevDerivative = derivative.DetachFromDisposeScope();
            firstSample = sample.clone().DetachFromDisposeScope();
        }
        else
        {
            var derivative = (sample - predOriginal) / sigmaNext;
            derivative = (prevDerivative! + derivative) / 2.0;
            prev = firstSample! + derivative * dt;
            ClearFirstOrder();
        }
        StepIndex = index + 1;
        return scope.MoveToOuter(prev);
    }
}

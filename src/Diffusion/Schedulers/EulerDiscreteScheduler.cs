using Farm.Diffusion.Torch;

namespace Farm.Diffusion.Schedulers;

/// <summary>
/// diffusers' <c>EulerDiscreteScheduler</c> (s_churn = 0). It still draws one randn of the latent shape per step from
/// each image's generator (unused with s_churn = 0) so that the generators advance exactly as in diffusers; without
/// generators it skips the draw.
/// </summary>
internal sealed class EulerDiscreteScheduler : KarrasSigmaScheduler
{
    public EulerDiscreteScheduler(SchedulerConfig config) : base("euler", config)
    {
    }

    protected override void ComputeTimesteps(int steps)
    {
        var (timesteps, sigmas) = BaseSchedule(steps);
        Timesteps = timesteps;
        Sigmas = [.. sigmas, 0f];
    }

    public override Tensor Step(Tensor modelOutput, float timestep, Tensor sample, IReadOnlyList<Generator>? generators = null)
    {
        var index = EnsureStepIndex(timestep);
        var sigma = Sigmas[index];
        using var scope = torch.NewDisposeScope();
        if (generators is { Count: > 0 }) Randn(modelOutput.shape, generators, "Euler");
        // sigma_hat = sigma·(gamma + 1) = sigma. Keep x0 and d = (x − x0)/σ literal (not d = eps) for float32 parity.
        var predOriginal = PredictOriginal(sample, modelOutput, sigma);
        var derivative = (sample - predOriginal) / sigma;
        var dt = Sigmas[index + 1] - sigma;
        var prev = sample + derivative * dt;
        StepIndex = index + 1;
        return scope.MoveToOuter(prev);
    }
}

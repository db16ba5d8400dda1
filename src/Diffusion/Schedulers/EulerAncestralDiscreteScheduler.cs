using Farm.Diffusion.Torch;

namespace Farm.Diffusion.Schedulers;

/// <summary>
/// diffusers' <c>EulerAncestralDiscreteScheduler</c>: an Euler step to σ_down plus fresh noise of size σ_up, one
/// randn of the latent shape per step (the last included, where σ_up = 0) from each image's generator.
/// </summary>
internal sealed class EulerAncestralDiscreteScheduler : KarrasSigmaScheduler
{
    public EulerAncestralDiscreteScheduler(SchedulerConfig config) : base("euler-a", config)
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
        var sigmaFrom = Sigmas[index];
        var sigmaTo = Sigmas[index + 1];
        var sigmaUp = MathF.Sqrt(sigmaTo * sigmaTo * (sigmaFrom * sigmaFrom - sigmaTo * sigmaTo) / (sigmaFrom * sigmaFrom));
        var sigmaDown = MathF.Sqrt(sigmaTo * sigmaTo - sigmaUp * sigmaUp);

        using var scope = torch.NewDisposeScope();
        var predOriginal = PredictOriginal(sample, modelOutput, sigmaFrom);
        var derivative = (sample - predOriginal) / sigmaFrom;
        var prev = sample + derivative * (sigmaDown - sigmaFrom);
        var noise = Randn(modelOutput.shape, generators, "Euler ancestral");
        prev = prev + noise * sigmaUp;
        StepIndex = index + 1;
        return scope.MoveToOuter(prev);
    }
}

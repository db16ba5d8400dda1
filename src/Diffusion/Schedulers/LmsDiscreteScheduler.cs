using Farm.Diffusion.Torch;

namespace Farm.Diffusion.Schedulers;

/// <summary>
/// diffusers' <c>LMSDiscreteScheduler</c>: linear multistep of order 4 (warm-up order step+1) over the derivatives
/// <c>d = (x − x0)/σ</c>. The coefficients are the integrals of the Lagrange basis polynomials over [σᵢ, σᵢ₊₁];
/// diffusers integrates them numerically (scipy quad, epsrel 1e-4), we exactly (Gauss–Legendre, double), which
/// agrees to ~1e-7 relative.
/// </summary>
internal sealed class LmsDiscreteScheduler : KarrasSigmaScheduler
{
    private const int MaxOrder = 4;
    // Newest last; at most MaxOrder.
    private readonly List<Tensor> derivatives = [];

    public LmsDiscreteScheduler(SchedulerConfig config) : base("lms", config)
    {
    }

    protected override void ComputeTimesteps(int steps)
    {
        var (timesteps, sigmas) = BaseSchedule(steps);
        Timesteps = timesteps;
        Sigmas = [.. sigmas, 0f];
    }

    protected override void ResetState()
    {
        base.ResetState();
        DisposeAll(derivatives);
    }

    public override Tensor Step(Tensor modelOutput, float timestep, Tensor sample, IReadOnlyList<Generator>? generators = null)
    {
        var index = EnsureStepIndex(timestep);
        var sigma = Sigmas[index];
        using var scope = torch.NewDisposeScope();
        var predOriginal = PredictOriginal(sample, modelOutput, sigma);
        derivatives.Add(((sample - predOriginal) / sigma).DetachFromDisposeScope());
        if (derivatives.Count > MaxOrder)
        {
            derivatives[0].Dispose();
            derivatives.RemoveAt(0);
        }

        var order = Math.Min(index + 1, MaxOrder);
        // sample + sum(coeff·d for coeff, d in zip(coeffs, reversed(derivatives))), summed left to right.
        Tensor? sum = null;
        for (var j = 0; j < order; j++)
        {
            var term = derivatives[derivatives.Count - 1 - j] * Coefficient(order, index, j);
            sum = sum is null ? term : sum + term;
        }
        StepIndex = index + 1;
        return scope.MoveToOuter(sample + sum!);
    }

    /// <summary>∫ over [σ_t, σ_{t+1}] of Π_{k≠j} (τ − σ_{t−k}) / (σ_{t−j} − σ_{t−k}) dτ, in double.</summary>
    private double Coefficient(int order, int t, int j)
    {
        double a = Sigmas[t], b = Sigmas[t + 1];
        // 4-point Gauss–Legendre is exact for the degree ≤ 3 integrand.
        ReadOnlySpan<double> nodes = [-0.8611363115940526, -0.3399810435848563, 0.3399810435848563, 0.8611363115940526];
        ReadOnlySpan<double> weights = [0.3478548451374538, 0.6521451548625461, 0.6521451548625461, 0.3478548451374538];
        var half = (b - a) / 2;
        var mid = (a + b) / 2;
        var integral = 0.0;
        for (var q = 0; q < nodes.Length; q++)
        {
            var tau = mid + half * nodes[q];
            var product = 1.0;
            for (var k = 0; k < order; k++)
            {
                if (k == j) continue;
                product *= (tau - Sigmas[t - k]) / ((double)Sigmas[t - j] - Sigmas[t - k]);
            }
            integral += weights[q] * product;
        }
        return integral * half;
    }
}

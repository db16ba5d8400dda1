using Farm.Diffusion.Torch;

namespace Farm.Diffusion.Schedulers;

/// <summary>
/// What every scheduler shares: the config, the float32 training tables, the timestep list, per-image noise draws
/// and float32 transcendental functions evaluated by libtorch (so coefficients round exactly as diffusers' 0-d
/// tensor math does; +, −, ×, ÷ and √ are IEEE-exact in C# float already).
/// </summary>
internal abstract class SchedulerBase : IScheduler
{
    protected SchedulerBase(string name, SchedulerConfig config)
    {
        Name = name;
        Config = config;
        Betas = NoiseSchedule.Betas(config);
        AlphasCumprod = NoiseSchedule.AlphasCumprod(Betas);
        if (config.PredictionType is not ("epsilon" or "v_prediction"))
            throw new NotSupportedException($"prediction_type '{config.PredictionType}' is not supported (epsilon, v_prediction)");
    }

    public string Name { get; }

    protected SchedulerConfig Config { get; }

    protected float[] Betas { get; }

    protected float[] AlphasCumprod { get; }

    protected bool VPrediction => Config.PredictionType == "v_prediction";

    public float[] Timesteps { get; protected set; } = [];

    public abstract double InitNoiseSigma { get; }

    public virtual int Order => 1;

    public abstract bool IntegerTimesteps { get; }

    /// <summary>Inference steps of the last <see cref="SetTimesteps"/>.</summary>
    protected int StepCount { get; private set; }

    public void SetTimesteps(int steps)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(steps, 1);
        ResetState();
        StepCount = steps;
        ComputeTimesteps(steps);
    }

    protected abstract void ComputeTimesteps(int steps);

    /// <summary>Drops per-render state (step counters, history tensors).</summary>
    protected abstract void ResetState();

    public virtual void SetBeginIndex(int beginIndex)
    {
    }

    public virtual Tensor ScaleModelInput(Tensor sample, float timestep) => sample.reshape(sample.shape);

    public abstract Tensor Step(Tensor modelOutput, float timestep, Tensor sample, IReadOnlyList<Generator>? generators = null);

    public abstract Tensor AddNoise(Tensor original, Tensor noise, float timestep);

    public void Dispose() => ResetState();

    /// <summary>diffusers' <c>randn_tensor(shape, generator=…)</c>: per-image draws of <c>[1, …]</c> concatenated for a list, one draw for a single generator.</summary>
    protected static Tensor Randn(long[] shape, IReadOnlyList<Generator>? generators, string who)
    {
        if (generators is null || generators.Count == 0)
            throw new ArgumentException($"{who} draws noise in every step: pass one generator per image", nameof(generators));
        if (generators.Count == 1) return torch.randn(shape, generators[0]);
        if (generators.Count != shape[0])
            throw new ArgumentException($"{generators.Count} generators for a batch of {shape[0]}", nameof(generators));
        var single = (long[])shape.Clone();
        single[0] = 1;
        using var scope = torch.NewDisposeScope();
        var parts = new Tensor[generators.Count];
        for (var i = 0; i < parts.Length; i++) parts[i] = torch.randn(single, generators[i]);
        return scope.MoveToOuter(torch.cat(parts, 0));
    }

    /// <summary>alpha-schedule <c>add_noise</c>: <c>ᾱ^0.5·x + (1 − ᾱ)^0.5·n</c>.</summary>
    protected Tensor AddNoiseAlpha(Tensor original, Tensor noise, int timestep)
    {
        var alphaProd = AlphasCumprod[timestep];
        var sqrtAlpha = MathF.Sqrt(alphaProd);
        var sqrtOneMinus = MathF.Sqrt(1f - alphaProd);
        using var scope = torch.NewDisposeScope();
        return scope.MoveToOuter(original * sqrtAlpha + noise * sqrtOneMinus);
    }

    /// <summary>torch.log of a float32 0-d tensor (libtorch's vectorised log, which need not round like MathF.Log).</summary>
    protected static float Log(float x) => Unary(x, static t => t.log());

    /// <summary>torch.exp of a float32 0-d tensor.</summary>
    protected static float Exp(float x) => Unary(x, static t => t.exp());

    private static float Unary(float x, Func<Tensor, Tensor> op)
    {
        using var input = torch.scalar(x);
        using var output = op(input);
        return (float)output.item();
    }

    protected static void DisposeAll(List<Tensor> tensors)
    {
        foreach (var tensor in tensors) tensor.Dispose();
        tensors.Clear();
    }
}

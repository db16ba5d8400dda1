using Farm.Diffusion.Torch;

namespace Farm.Diffusion.Models.Vae;

/// <summary>
/// The encoder's posterior: mean and log-variance from the moments (logvar clamped to [−30, 20]), std = exp(½·logvar).
/// Owns its tensors (made in the caller's scope, if any).
/// </summary>
internal sealed class DiagonalGaussianDistribution : IDisposable
{
    public DiagonalGaussianDistribution(Tensor moments)
    {
        using var scope = torch.NewDisposeScope();
        var parts = moments.chunk(2, 1);
        var logvar = parts[1].clamp(-30.0, 20.0);
        Mean = scope.MoveToOuter(parts[0]);
        LogVar = scope.MoveToOuter(logvar);
        Std = scope.MoveToOuter((0.5 * logvar).exp());
    }

    public Tensor Mean { get; }

    public Tensor LogVar { get; }

    public Tensor Std { get; }

    /// <summary>
    /// mean + std·ε with ε drawn per image from its own generator, <c>randn([1, C, h, w], generator=g[i])</c> in order,
    /// as diffusers' randn_tensor does for a list of generators (on the CPU, then moved to the model's device).
    /// </summary>
    public Tensor Sample(IReadOnlyList<Generator> generators)
    {
        var batch = Mean.size(0);
        if (generators.Count != batch)
            throw new ArgumentException($"{generators.Count} generators for a batch of {batch}: pass one per image", nameof(generators));
        using var scope = torch.NewDisposeScope();
        var shape = Mean.shape;
        shape[0] = 1;
        var noise = torch.cat(generators.Select(g => torch.randn(shape, g)).ToList(), 0);
        if (noise.dtype != Mean.dtype || noise.device != Mean.device) noise = noise.to(Mean.dtype, Mean.device);
        return scope.MoveToOuter(Mean + Std * noise);
    }

    /// <summary>The distribution's mode (its mean), as a new tensor.</summary>
    public Tensor Mode() => Mean.clone();

    public void Dispose()
    {
        Mean.Dispose();
        LogVar.Dispose();
        Std.Dispose();
    }
}

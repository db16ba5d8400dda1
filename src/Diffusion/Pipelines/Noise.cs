using Farm.Diffusion.Torch;

namespace Farm.Diffusion.Pipelines;

/// <summary>Random draws as diffusers makes them with a list of generators: one randn per image from its own generator, then cat.</summary>
internal static class Noise
{
    public static Tensor PerImage(IReadOnlyList<Generator> generators, long[] singleShape)
    {
        using var scope = torch.NewDisposeScope();
        var parts = generators.Select(g => torch.randn(singleShape, g)).ToList();
        return scope.MoveToOuter(parts.Count == 1 ? parts[0] : torch.cat(parts, 0));
    }
}

using Farm.Diffusion.Models;
using Farm.Diffusion.Weights;

namespace Farm.Diffusion.Tests.Models;

internal static class CheckpointKeys
{
    /// <summary>The module's parameters are exactly the tensors of the safetensors file: the same keys, each with its shape.</summary>
    public static void AssertMatch(Module module, string weightsPath)
    {
        using var file = SafetensorsFile.Open(weightsPath);
        var expected = file.Tensors.ToDictionary(t => t.Name, t => string.Join(",", t.Shape));
        var actual = module.NamedParameters().ToDictionary(p => p.Key, p => string.Join(",", p.Parameter.Shape));
        Assert.Equal(expected.OrderBy(e => e.Key), actual.OrderBy(e => e.Key));
    }
}

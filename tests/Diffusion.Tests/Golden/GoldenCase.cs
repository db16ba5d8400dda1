using System.Text.Json;
using Farm.Diffusion.Torch;
using Farm.Diffusion.Weights;
using Farm.Testing;

namespace Farm.Diffusion.Tests.Golden;

/// <summary>One diffusers-produced case from ../shared/fixtures/*/cases: its manifest and tensors, read in place.</summary>
internal sealed class GoldenCase : IDisposable
{
    private readonly SafetensorsFile? tensors;

    private GoldenCase(string id, string folder)
    {
        Id = id;
        Folder = folder;
        Manifest = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "manifest.json")));
        var tensorPath = Path.Combine(folder, "tensors.safetensors");
        if (File.Exists(tensorPath)) tensors = SafetensorsFile.Open(tensorPath);
    }

    public static GoldenCase Open(string caseId) => new(caseId, Fixtures.Case(caseId));

    /// <summary>A case of another fixture folder, e.g. <c>Open(Fixtures.SdxlTiny, "vae_decode")</c>.</summary>
    public static GoldenCase Open(string fixture, string caseId) => new(caseId, Fixtures.CaseIn(fixture, caseId));

    public string Id { get; }

    public string Folder { get; }

    public JsonDocument Manifest { get; }

    public JsonElement Params => Manifest.RootElement.GetProperty("params");

    public bool Has(string name) => tensors?.Contains(name) ?? false;

    /// <summary>A stored tensor as a new CPU tensor in its stored dtype; the caller disposes it (or a scope does).</summary>
    public Tensor Tensor(string name) => SafetensorsWeights.ReadRaw(tensors ?? throw new InvalidOperationException($"{Id} has no tensors"), name);

    public float[] Floats(string name) => tensors!.ReadFloat32(name);

    public long[] Longs(string name) => tensors!.ReadInt64(name);

    public void Dispose()
    {
        tensors?.Dispose();
        Manifest.Dispose();
    }
}

internal static class Close
{
    /// <summary>Asserts max |expected − actual| ≤ <paramref name="atol"/>, naming the tensor and the difference found.</summary>
    public static void Assert(Tensor expected, Tensor actual, double atol, string what)
    {
        Xunit.Assert.Equal(expected.shape, actual.shape);
        using var e = expected.to(ScalarType.Float32, Device.Cpu);
        using var a = actual.to(ScalarType.Float32, Device.Cpu);
        using var diff = e - a;
        var maxDiff = diff.MaxAbs();
        Xunit.Assert.False(double.IsNaN(maxDiff), $"{what}: NaN in the result");
        Xunit.Assert.True(maxDiff <= atol, $"{what}: max |diff| = {maxDiff:G3} exceeds {atol:G3} (max |expected| = {e.MaxAbs():G3})");
    }
}

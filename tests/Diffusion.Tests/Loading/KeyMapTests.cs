using Farm.Diffusion.Models.Loading;
using Farm.Diffusion.Weights;

namespace Farm.Diffusion.Tests.Loading;

/// <summary>The conversion as data, against the manifests' key_map (what diffusers' own scripts wrote into each file).</summary>
public sealed class KeyMapTests
{
    [SkippableTheory]
    [InlineData("checkpoint_sd_tiny_ckpt")]
    [InlineData("checkpoint_sdxl_tiny_fp16_safetensors")]
    public void The_key_map_reproduces_every_entry_of_the_manifest_key_map(string caseId)
    {
        var c = CheckpointCase.Named(caseId);
        var expected = c.KeyMap();
        using var source = ModelSource.Open(c.File, configDir: c.FolderModel);
        var mappings = source.KeyMapOrNull!.All.ToList();
        var bySource = mappings.GroupBy(m => m.Source).ToDictionary(g => g.Key, g => g.OrderBy(m => m.Op.Part).ToList());

        // Every stored tensor the manifest lists is converted, and nothing else is.
        Assert.Equal(expected.Select(e => e.Key).Order(StringComparer.Ordinal), bySource.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(expected.Sum(e => e.From.Length), mappings.Count);

        var folderShapes = new Dictionary<string, long[]>();
        foreach (var component in source.Components)
        {
            using var folder = ModelSource.Open(c.FolderModel);
            var weights = folder.OpenWeights(component);
            foreach (var key in weights.Keys) folderShapes[$"{component}:{key}"] = weights.Shape(key);
        }

        foreach (var entry in expected)
        {
            var mine = bySource[entry.Key];
            Assert.Equal(entry.From, mine.Select(m => $"{m.Component}:{m.Key}").ToArray());
            var kind = entry.Op.Split(' ')[0] switch
            {
                "copy" => TensorOpKind.Copy,
                "reshape" => TensorOpKind.ConvToLinear,
                "transpose" => TensorOpKind.Transpose,
                "cat(dim=0)" => TensorOpKind.Slice,
                var other => throw new InvalidDataException($"manifest op '{other}' is not known to this test"),
            };
            Assert.All(mine, m => Assert.Equal(kind, m.Op.Kind));
            if (kind == TensorOpKind.Slice) Assert.Equal(Enumerable.Range(0, entry.From.Length), mine.Select(m => m.Op.Part));
            foreach (var m in mine)
            {
                var converted = m.Op.ResultShape(entry.Shape);
                Assert.NotNull(converted);
                Assert.Equal(folderShapes[$"{m.Component}:{m.Key}"], converted);
            }
        }
    }

    [SkippableTheory]
    [InlineData("checkpoint_sd_tiny_ckpt")]
    [InlineData("checkpoint_sdxl_tiny_fp16_safetensors")]
    public void The_stored_shapes_are_the_manifest_shapes(string caseId)
    {
        var c = CheckpointCase.Named(caseId);
        var stored = CheckpointFile.OpenStored(c.File);
        try
        {
            foreach (var entry in c.KeyMap()) Assert.Equal(entry.Shape, stored.Shape(entry.Key));
        }
        finally
        {
            (stored as IDisposable)?.Dispose();
        }
    }

    [SkippableFact]
    public void Every_converted_component_has_exactly_the_folder_models_keys()
    {
        foreach (var c in new[] { CheckpointCase.SdTinyCkpt, CheckpointCase.SdxlTinyFp16 })
        {
            using var file = ModelSource.Open(c.File, configDir: c.FolderModel);
            using var folder = ModelSource.Open(c.FolderModel);
            Assert.Equal(folder.Components, file.Components);
            foreach (var component in file.Components)
                Assert.Equal(folder.OpenWeights(component).Keys.Order(StringComparer.Ordinal), file.OpenWeights(component).Keys.Order(StringComparer.Ordinal));
        }
    }
}

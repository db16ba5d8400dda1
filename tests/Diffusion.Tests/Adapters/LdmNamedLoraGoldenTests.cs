using System.Text.Json;
using Farm.Diffusion.Pipelines;
using Farm.Diffusion.Tests.Golden;
using Farm.Diffusion.Tests.Pipelines;
using Farm.Diffusion.Tests.Sdxl;
using Farm.Diffusion.Weights;
using Farm.Testing;
using Xunit;

namespace Farm.Diffusion.Tests.Adapters;

/// <summary>
/// kohya LoRAs for SDXL as sd-scripts writes them name the UNet's layers in the SGM spelling
/// (<c>lora_unet_input_blocks_4_1_…</c>). The fixture's SDXL LoRA uses the diffusers spelling; renamed to the SGM
/// spelling through the single-file fixture's key map (what diffusers' own conversion script does), it must give
/// diffusers' render of the original file.
/// </summary>
[Collection(PipelineCollection.Name)]
public sealed class LdmNamedLoraGoldenTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("farm-ldm-lora-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    [SkippableFact]
    public void An_sgm_named_sdxl_lora_renders_as_its_diffusers_named_twin()
    {
        using var golden = GoldenCase.Open(Fixtures.Adapters, "sdxl_lora_kohya_scale1");
        var renamed = SgmNamedCopy(Fixtures.PathIn(Fixtures.Adapters, "files", "sdxl_lora.kohya.safetensors"));
        var request = SdxlRenderCase.Request(golden) with { Loras = [new LoraReference(renamed, 1.0)] };
        using var pipeline = StableDiffusionPipeline.Load(Fixtures.Model(Fixtures.SdxlTiny), new PipelineOptions { Threads = 2 });
        GoldenRender.AssertMatches(pipeline, request, golden);
    }

    /// <summary>Every <c>lora_unet_</c> key renamed from its diffusers path to its SGM key, as the fixture's key map pairs them.</summary>
    private string SgmNamedCopy(string source)
    {
        using var manifest = JsonDocument.Parse(File.ReadAllText(Path.Combine(
            Fixtures.CaseIn(Fixtures.SingleFile, "checkpoint_sdxl_tiny_fp16_safetensors"), "manifest.json")));
        var sgmByDiffusers = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var entry in manifest.RootElement.GetProperty("key_map").EnumerateArray())
        {
            var key = entry.GetProperty("key").GetString()!;
            var from = entry.GetProperty("from").ToString();
            const string prefix = "model.diffusion_model.", unet = "unet:";
            if (!key.StartsWith(prefix) || !key.EndsWith(".weight") || !from.StartsWith(unet)) continue;
            sgmByDiffusers[Kohya(from[unet.Length..])] = Kohya(key[prefix.Length..]);
        }

        using var file = SafetensorsFile.Open(source);
        var tensors = new List<(string, SafetensorsDType, long[], ReadOnlyMemory<byte>)>();
        var renamed = 0;
        foreach (var t in file.Tensors)
        {
            var name = t.Name;
            if (name.StartsWith("lora_unet_"))
            {
                var module = name["lora_unet_".Length..name.IndexOf('.')];
                Assert.True(sgmByDiffusers.TryGetValue(module, out var sgm), $"the key map has no SGM key for '{module}'");
                name = "lora_unet_" + sgm + name[name.IndexOf('.')..];
                renamed++;
            }
            tensors.Add((name, t.DType, t.Shape, file.GetBytes(t.Name).ToArray()));
        }
        Assert.True(renamed > 0 && tensors.Any(t => t.Item1.StartsWith("lora_unet_input_blocks_")), "nothing was renamed");
        var path = Path.Combine(dir, "sdxl_lora.sgm.safetensors");
        SafetensorsWriter.Write(path, tensors, file.Metadata);
        return path;
    }

    private static string Kohya(string weightKey) => weightKey[..^".weight".Length].Replace('.', '_');
}

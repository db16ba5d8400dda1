using System.Text.Json.Nodes;
using Farm.Diffusion.Models;
using Farm.Diffusion.Models.Clip;
using Farm.Diffusion.Models.Loading;
using Farm.Diffusion.Models.Vae;
using Farm.Diffusion.Models.Unet;
using Farm.Diffusion.Torch;

namespace Farm.Diffusion.Tests.Loading;

public sealed class ShapeContradictionTests
{
    [SkippableFact]
    public void A_config_that_contradicts_the_stored_shapes_fails_naming_the_stored_key_and_both_shapes()
    {
        var c = CheckpointCase.SdTinyCkpt;
        var attn2 = c.KeyMap().Single(e => e.From.SequenceEqual(["unet:down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k.weight"]));
        var dir = Directory.CreateTempSubdirectory("farm-loading-");
        try
        {
            var unet = JsonNode.Parse(File.ReadAllText(Path.Combine(c.FolderModel, "unet", "config.json")))!.AsObject();
            var crossDim = unet["cross_attention_dim"]!.GetValue<int>() * 2;
            unet["cross_attention_dim"] = crossDim;
            Directory.CreateDirectory(Path.Combine(dir.FullName, "unet"));
            File.WriteAllText(Path.Combine(dir.FullName, "unet", "config.json"), unet.ToJsonString());

            using var source = ModelSource.Open(c.File, dir.FullName);
            using var model = new UNet2DConditionModel(source.UnetConfig);
            var e = Assert.Throws<InvalidDataException>(() => source.LoadInto(model, "unet", ScalarType.Float32, Device.Cpu));
            Assert.Contains($"'{attn2.Key}'", e.Message);
            Assert.Contains($"[{string.Join(", ", attn2.Shape)}]", e.Message);
            Assert.Contains($"[{attn2.Shape[0]}, {crossDim}]", e.Message);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [SkippableFact]
    public void Models_built_from_the_sources_configs_load_every_component_from_the_file()
    {
        var c = CheckpointCase.SdTinyCkpt;
        using var source = ModelSource.Open(c.File, c.FolderModel);
        using var unet = new UNet2DConditionModel(source.UnetConfig);
        using var vae = new AutoencoderKL(source.VaeConfig);
        using var text = new CLIPTextModel(source.TextEncoderConfig);
        foreach (var (model, component) in new Module[] { unet, vae, text }.Zip(source.Components))
        {
            source.LoadInto(model, component, ScalarType.Float32, Device.Cpu);
            Assert.All(model.NamedParameters(), p => Assert.Equal(p.Parameter.Shape, p.Parameter.Value.shape));
        }
    }
}

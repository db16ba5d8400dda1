using Farm.Diffusion.Adapters;
using Farm.Diffusion.Models.Clip;
using Farm.Testing;

namespace Farm.Diffusion.Tests.Adapters;

/// <summary>
/// The SDXL LoRA's text-encoder parts against the sdxl-tiny text encoders' module paths and shapes. Its UNet part and
/// the sdxl_lora_* golden cases need the SDXL engine (not on this branch yet): left to the pipeline integration.
/// </summary>
public sealed class SdxlLoraKeyTests
{
    [SkippableFact]
    public void The_te1_and_te2_keys_of_the_sdxl_lora_resolve_onto_the_two_sdxl_text_encoders_with_fitting_shapes()
    {
        var model = Fixtures.Model(Fixtures.SdxlTiny);
        using var lora = LoraFile.Load(Fixtures.PathIn(Fixtures.Adapters, "files", "sdxl_lora.kohya.safetensors"));
        // Structure only (no weights needed to resolve names and shapes); text_encoder_2's text_model is CLIP's too.
        using var te1 = new CLIPTextModel(CLIPTextConfig.FromFile(Path.Combine(model, "text_encoder", "config.json")));
        using var te2 = new CLIPTextModel(CLIPTextConfig.FromFile(Path.Combine(model, "text_encoder_2", "config.json")));
        var resolved = 0;
        foreach (var (component, encoder, layers) in new[] { (LoraComponent.TextEncoder, te1, 3), (LoraComponent.TextEncoder2, te2, 4) })
        {
            var index = new LoraTargetIndex(encoder);
            var modules = lora.Modules.Where(m => m.Component == component).ToList();
            Assert.Equal(layers * 4, modules.Count); // self_attn q/k/v/out of every layer
            foreach (var m in modules)
            {
                var found = index.Find(m.Naming, m.ModuleName);
                Assert.True(found is not null, $"{m.DownKey} resolves");
                LoraResolver.CheckShapes(lora, m, found.Value.Path, found.Value.Layer);
                resolved++;
            }
        }
        Assert.Equal(28, resolved);
    }
}

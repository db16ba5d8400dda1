using Farm.Diffusion.Models.Loading;
using Farm.Diffusion.Weights;
using Farm.Testing;

namespace Farm.Diffusion.Tests.Loading;

/// <summary>
/// There is no SD 2.x single-file fixture, so one is written here from the sd2-tiny folder model in the LDM layout
/// (Stability's stablediffusion repo): UNet and VAE under the names diffusers' own script gave the same tensors of
/// sd-tiny (the <c>checkpoint_sd_tiny_ckpt</c> key_map; sd2-tiny has sd-tiny's block structure, so the names are the
/// same), and the text encoder as an OpenCLIP tower under <c>cond_stage_model.model.</c>, named by diffusers'
/// DIFFUSERS_TO_LDM_MAPPING["openclip"] (v0.27.2) with the fused q/k/v. Like a real SD 2 file it has one resblock more
/// than the diffusers text encoder, a <c>text_projection</c>, <c>logit_scale</c>, schedule buffers and an EMA entry,
/// all of which the loader must drop, as diffusers does. Limit: the OpenCLIP names here are written from the same
/// reading of diffusers as the loader's; the SDXL fixture's key_map checks that reading for the same tower layout.
/// </summary>
public sealed class Sd2RoundTripTests
{
    [SkippableFact]
    public void An_sd2_ldm_file_written_from_the_sd2_tiny_folder_loads_back_bit_for_bit()
    {
        var folder = Fixtures.Model(Fixtures.Sd2Tiny);
        var sd1Map = CheckpointCase.SdTinyCkpt.KeyMap();
        var dir = Directory.CreateTempSubdirectory("farm-sd2-");
        var files = new List<SafetensorsFile>();
        try
        {
            SafetensorsFile Open(string component, string stem)
            {
                var f = SafetensorsFile.Open(Path.Combine(folder, component, stem + ".safetensors"));
                files.Add(f);
                return f;
            }
            var unet = Open("unet", "diffusion_pytorch_model");
            var vae = Open("vae", "diffusion_pytorch_model");
            var text = Open("text_encoder", "model");
            var tensors = new List<(string, SafetensorsDType, long[], ReadOnlyMemory<byte>)>();

            foreach (var entry in sd1Map.Where(e => e.From[0].StartsWith("unet:", StringComparison.Ordinal) || e.From[0].StartsWith("vae:", StringComparison.Ordinal)))
            {
                var (component, key) = (entry.From[0].Split(':')[0], entry.From[0].Split(':')[1]);
                var file = component == "unet" ? unet : vae;
                var shape = entry.Op.StartsWith("reshape", StringComparison.Ordinal) ? [.. file[key].Shape, 1, 1] : file[key].Shape;
                tensors.Add((entry.Key, SafetensorsDType.F32, shape, file.GetBytes(key).ToArray()));
            }

            const string p = "cond_stage_model.model.";
            var layers = text.Tensors.Select(t => t.Name).Where(n => n.StartsWith("text_model.encoder.layers.", StringComparison.Ordinal))
                .Select(n => int.Parse(n.Split('.')[3])).Max() + 1;
            void Text(string ldm, string hf) => tensors.Add((p + ldm, SafetensorsDType.F32, text[hf].Shape, text.GetBytes(hf).ToArray()));
            Text("token_embedding.weight", "text_model.embeddings.token_embedding.weight");
            Text("positional_embedding", "text_model.embeddings.position_embedding.weight");
            Text("ln_final.weight", "text_model.final_layer_norm.weight");
            Text("ln_final.bias", "text_model.final_layer_norm.bias");
            // One block more than the diffusers encoder (SD 2 uses the penultimate layer): its values are layer 0's.
            for (var i = 0; i <= layers; i++)
            {
                var hf = $"text_model.encoder.layers.{(i == layers ? 0 : i)}.";
                var ldm = $"transformer.resblocks.{i}.";
                foreach (var (o, h) in new[] { ("ln_1", "layer_norm1"), ("ln_2", "layer_norm2"), ("mlp.c_fc", "mlp.fc1"), ("mlp.c_proj", "mlp.fc2"), ("attn.out_proj", "self_attn.out_proj") })
                {
                    Text($"{ldm}{o}.weight", $"{hf}{h}.weight");
                    Text($"{ldm}{o}.bias", $"{hf}{h}.bias");
                }
                foreach (var kind in new[] { "weight", "bias" })
                {
                    var parts = new[] { "q_proj", "k_proj", "v_proj" }.Select(q => $"{hf}self_attn.{q}.{kind}").ToArray();
                    var shape = text[parts[0]].Shape.ToArray();
                    shape[0] *= 3;
                    tensors.Add(($"{p}{ldm}attn.in_proj_{kind}", SafetensorsDType.F32, shape, parts.SelectMany(q => text.GetBytes(q).ToArray()).ToArray()));
                }
            }
            var hidden = text["text_model.final_layer_norm.weight"].Shape[0];
            tensors.Add((p + "text_projection", SafetensorsDType.F32, [hidden, hidden], new byte[hidden * hidden * 4]));
            tensors.Add((p + "logit_scale", SafetensorsDType.F32, [], new byte[4]));
            tensors.Add(("alphas_cumprod", SafetensorsDType.F32, [1000], new byte[4000]));
            tensors.Add(("model_ema.decay", SafetensorsDType.F32, [], new byte[4]));

            var path = Path.Combine(dir.FullName, "sd2-tiny.safetensors");
            SafetensorsWriter.Write(path, tensors);

            using (var source = ModelSource.Open(path, folder))
            {
                Assert.Equal(ModelFamily.SD2, source.Family);
                var dropped = source.KeyMapOrNull!.All.Select(m => m.Source).ToHashSet();
                Assert.DoesNotContain(p + $"transformer.resblocks.{layers}.ln_1.weight", dropped);
                Assert.DoesNotContain(p + "text_projection", dropped);
            }
            WeightParityTests.AssertParity(path, folder, roundToHalf: false);
        }
        finally
        {
            foreach (var f in files) f.Dispose();
            dir.Delete(recursive: true);
        }
    }

    [SkippableFact]
    public void An_sd2_file_without_yaml_or_config_folder_gets_the_standard_sd2_configs_with_v_prediction()
    {
        var dir = Directory.CreateTempSubdirectory("farm-sd2-");
        try
        {
            var path = Path.Combine(dir.FullName, "bare.safetensors");
            SafetensorsWriter.Write(path, [("cond_stage_model.model.token_embedding.weight", SafetensorsDType.F32, [1L], new byte[4])]);
            using var source = ModelSource.Open(path);
            Assert.Equal(ModelFamily.SD2, source.Family);
            Assert.Equal("v_prediction", source.PredictionType);
            Assert.Equal(1024, source.TextEncoderConfig.HiddenSize);
            Assert.Equal(1024, source.UnetConfig.CrossAttentionDim[0]);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}

using System.Text.Json;
using System.Text.Json.Nodes;
using Farm.Diffusion.Models.Loading;
using Farm.Diffusion.Models.Unet;
using Farm.Diffusion.Models.Vae;
using Farm.Diffusion.Tests.Golden;
using Farm.Testing;

namespace Farm.Diffusion.Tests.Loading;

/// <summary>
/// The fixture YAMLs give the folder models' configs except what the original format cannot say: GroupNorm groups
/// (diffusers' default 32, the tiny models use 8) and the sample size (the family's native resolution; diffusers'
/// stock single-file loader does the same, the checkpoint manifests record both values it gets). Text encoders are
/// not described by a YAML at all (they name pretrained towers): they come from a config folder or the standard configs.
/// </summary>
public sealed class YamlTranslationTests
{
    [SkippableFact]
    public void The_sd_tiny_yaml_gives_the_folder_unet_and_vae_configs_except_groups_and_sample_size_as_diffusers_stock_loader()
    {
        var yaml = OriginalConfig.Load(Fixtures.PathIn(Fixtures.SingleFile, "checkpoints", "sd-tiny.yaml"));
        var folder = Fixtures.Model(Fixtures.SdTiny);
        using var golden = GoldenCase.Open(Fixtures.SingleFile, "checkpoint_sd_tiny_ckpt");
        var stock = golden.Params.GetProperty("verification").GetProperty("stock_from_single_file").GetProperty("config_differences_[single_file, folder]");

        var unet = UNet2DConditionConfig.Parse(yaml.UnetJson);
        var folderUnet = UNet2DConditionConfig.FromJson(Path.Combine(folder, "unet", "config.json"));
        Assert.Equal(Pair(stock, "unet", "norm_num_groups"), (unet.NormNumGroups, folderUnet.NormNumGroups));
        Assert.Equal(Pair(stock, "unet", "sample_size"), (unet.SampleSize!.Value, folderUnet.SampleSize!.Value));
        Assert.Equal(Json(folderUnet), Json(unet with { NormNumGroups = folderUnet.NormNumGroups, SampleSize = folderUnet.SampleSize }));

        var vae = AutoencoderKLConfig.Parse(yaml.VaeJson);
        var folderVae = AutoencoderKLConfig.FromJson(Path.Combine(folder, "vae", "config.json"));
        Assert.Equal(Pair(stock, "vae", "norm_num_groups"), (vae.NormNumGroups, folderVae.NormNumGroups));
        Assert.Equal(Pair(stock, "vae", "sample_size"), (vae.SampleSize, folderVae.SampleSize));
        Assert.Equal(Json(folderVae), Json(vae with { NormNumGroups = folderVae.NormNumGroups, SampleSize = folderVae.SampleSize }));
        Assert.Equal("epsilon", yaml.PredictionType);
    }

    /// <summary>
    /// SDXL at the JSON level: today's UNet2DConditionConfig rejects addition_embed_type (the SDXL branch adds it).
    /// The block layout must equal what diffusers derived from the same YAML (manifest), the embedding the folder's.
    /// </summary>
    [SkippableFact]
    public void The_sdxl_tiny_yaml_gives_the_folder_unet_config_json_except_groups_and_sample_size()
    {
        var yaml = OriginalConfig.Load(Fixtures.PathIn(Fixtures.SingleFile, "checkpoints", "sdxl-tiny.fp16.yaml"));
        var folder = Fixtures.Model(Fixtures.SdxlTiny);
        var mine = JsonNode.Parse(yaml.UnetJson)!.AsObject();
        var theirs = JsonNode.Parse(File.ReadAllText(Path.Combine(folder, "unet", "config.json")))!.AsObject();

        using var golden = GoldenCase.Open(Fixtures.SingleFile, "checkpoint_sdxl_tiny_fp16_safetensors");
        var derived = JsonNode.Parse(golden.Params.GetProperty("verification").GetProperty("stock_from_single_file")
            .GetProperty("unet_config_derived_from_yaml").GetRawText())!.AsObject();
        foreach (var key in new[] { "block_out_channels", "attention_head_dim", "transformer_layers_per_block", "cross_attention_dim", "projection_class_embeddings_input_dim" })
            Assert.True(JsonNode.DeepEquals(derived[key], mine[key]), $"{key}: diffusers derived {derived[key]?.ToJsonString()}, we {mine[key]?.ToJsonString()}");

        Assert.False(mine.ContainsKey("norm_num_groups")); // diffusers' default 32; the folder says 8
        Assert.NotEqual(theirs["sample_size"]!.GetValue<int>(), mine["sample_size"]!.GetValue<int>());
        foreach (var (key, value) in mine)
        {
            if (key is "sample_size" or "_class_name") continue;
            Assert.True(JsonNode.DeepEquals(theirs[key], value), $"{key}: folder {theirs[key]?.ToJsonString()}, from YAML {value?.ToJsonString()}");
        }

        var vae = AutoencoderKLConfig.Parse(yaml.VaeJson);
        var folderVae = AutoencoderKLConfig.FromJson(Path.Combine(folder, "vae", "config.json"));
        Assert.Equal(32, vae.NormNumGroups);
        Assert.Equal(Json(folderVae), Json(vae with { NormNumGroups = folderVae.NormNumGroups, SampleSize = folderVae.SampleSize }));
    }

    [SkippableFact]
    public void A_checkpoint_with_a_yaml_and_no_config_folder_takes_unet_and_vae_from_the_yaml_and_text_encoders_from_the_standard_configs()
    {
        using var source = ModelSource.Open(Fixtures.PathIn(Fixtures.SingleFile, "checkpoints", "sd-tiny.ckpt"));
        Assert.EndsWith("sd-tiny.yaml (translated)", source.ConfigOrigin("unet"));
        Assert.EndsWith("sd-tiny.yaml (translated)", source.ConfigOrigin("vae"));
        Assert.StartsWith("standard", source.ConfigOrigin("text_encoder"));
        var folderText = Farm.Diffusion.Models.Clip.CLIPTextConfig.FromFile(Path.Combine(Fixtures.Model(Fixtures.SdTiny), "text_encoder", "config.json"));
        Assert.NotEqual(folderText.HiddenSize, source.TextEncoderConfig.HiddenSize);
        Assert.Null(source.TokenizerDirectory(0));
        var e = Assert.Throws<InvalidDataException>(() => source.RequireTokenizerDirectory(0));
        Assert.Contains("--config", e.Message);
    }

    [SkippableFact]
    public void A_config_folder_overrides_the_yaml_for_every_component_it_has()
    {
        var folder = Fixtures.Model(Fixtures.SdxlTiny);
        using var source = ModelSource.Open(Fixtures.PathIn(Fixtures.SingleFile, "checkpoints", "sdxl-tiny.fp16.safetensors"), folder);
        foreach (var component in new[] { "unet", "vae", "text_encoder", "text_encoder_2", "scheduler" })
            Assert.Equal(File.ReadAllText(Path.Combine(folder, component, component == "scheduler" ? "scheduler_config.json" : "config.json")), source.ConfigJson(component));
        Assert.Equal(Path.Combine(folder, "tokenizer_2"), source.TokenizerDirectory(1));
        Assert.Equal(24, source.TextEncoder2Config!.ProjectionDim);
        Assert.True(source.ForceZerosForEmptyPrompt);
    }

    [SkippableFact]
    public void A_config_folder_without_any_config_is_refused_rather_than_ignored()
    {
        var dir = Directory.CreateTempSubdirectory("farm-loading-");
        try
        {
            var e = Assert.Throws<InvalidDataException>(() => ModelSource.Open(Fixtures.PathIn(Fixtures.SingleFile, "checkpoints", "sd-tiny.ckpt"), dir.FullName));
            Assert.Contains(dir.FullName, e.Message);
            Assert.Contains("unet/config.json", e.Message);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    private static (int, int) Pair(JsonElement differences, string component, string key)
    {
        var pair = differences.GetProperty(component).GetProperty(key);
        return (pair[0].GetInt32(), pair[1].GetInt32());
    }

    private static string Json<T>(T value) => JsonSerializer.Serialize(value);
}

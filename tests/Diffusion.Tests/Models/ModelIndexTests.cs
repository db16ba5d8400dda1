using Farm.Diffusion.Models;
using Farm.Testing;

namespace Farm.Diffusion.Tests.Models;

public sealed class ModelIndexTests
{
    [SkippableFact]
    public void The_fixture_model_folder_loads_with_its_component_classes_and_weights()
    {
        var index = ModelIndex.Load(Fixtures.ModelDir);
        Assert.Equal("StableDiffusionPipeline", index.PipelineClass);
        Assert.Equal("UNet2DConditionModel", index.Unet.ClassName);
        Assert.Equal("diffusers", index.Unet.Library);
        Assert.Equal("AutoencoderKL", index.Vae.ClassName);
        Assert.Equal("CLIPTextModel", index.TextEncoder.ClassName);
        Assert.Equal("transformers", index.Tokenizer.Library);
        Assert.Equal("PNDMScheduler", index.Scheduler.ClassName);
        Assert.EndsWith(Path.Combine("unet", "diffusion_pytorch_model.safetensors"), index.Unet.WeightsPath);
        Assert.EndsWith(Path.Combine("text_encoder", "model.safetensors"), index.TextEncoder.WeightsPath);
        Assert.EndsWith(Path.Combine("scheduler", "scheduler_config.json"), index.Scheduler.ConfigPath);
        Assert.Null(index.Tokenizer.WeightsPath);
        Assert.Null(index.Tokenizer.ConfigPath);
        Assert.Matches("^[0-9a-f]{10}$", index.ShortHash);
        Assert.Equal(index.ShortHash, ModelIndex.Load(Fixtures.ModelDir).ShortHash);
    }

    [Fact]
    public void The_hash_covers_the_weight_bytes_so_a_changed_weight_changes_it()
    {
        using var model = new TinyModelFolder();
        var before = ModelIndex.Load(model.Path);
        Assert.Matches("^[0-9a-f]{64}$", before.Hash);
        Assert.Equal(before.Hash[..10], before.ShortHash);

        // Flip the last byte of the VAE weights: same header, same size, different model.
        var vae = model.File("vae/diffusion_pytorch_model.safetensors");
        var bytes = File.ReadAllBytes(vae);
        bytes[^1] ^= 1;
        File.WriteAllBytes(vae, bytes);
        Assert.NotEqual(before.Hash, ModelIndex.Load(model.Path).Hash);
    }

    [Fact]
    public void A_folder_without_model_index_json_is_named_as_not_a_diffusers_folder()
    {
        using var model = new TinyModelFolder();
        File.Delete(model.File("model_index.json"));
        var e = Assert.Throws<ModelIndexException>(() => ModelIndex.Load(model.Path));
        Assert.Contains("model_index.json is missing", Assert.Single(e.Problems));
    }

    [Fact]
    public void Every_problem_is_reported_on_its_own_line()
    {
        using var model = new TinyModelFolder();
        Directory.Delete(model.File("vae"), recursive: true);
        File.Delete(model.File("unet/config.json"));
        File.Delete(model.File("tokenizer/merges.txt"));
        File.Move(model.File("text_encoder/model.safetensors"), model.File("text_encoder/pytorch_model.bin"));

        var e = Assert.Throws<ModelIndexException>(() => ModelIndex.Load(model.Path));
        Assert.Equal(
            [
                "unet/config.json is missing",
                "vae/ folder is missing",
                "text_encoder/: only a PyTorch .bin checkpoint was found; convert to safetensors (model.safetensors)",
                "tokenizer/merges.txt is missing",
            ],
            e.Problems);
        Assert.Equal(e.Problems.Count + 1, e.Message.Split('\n').Length);
    }

    [Fact]
    public void Missing_weights_and_unsupported_component_classes_are_problems()
    {
        using var model = new TinyModelFolder();
        File.Delete(model.File("unet/diffusion_pytorch_model.safetensors"));
        File.WriteAllText(model.File("model_index.json"),
            File.ReadAllText(model.File("model_index.json")).Replace("\"CLIPTextModel\"", "\"CLIPTextModelWithProjection\""));
        var e = Assert.Throws<ModelIndexException>(() => ModelIndex.Load(model.Path));
        Assert.Contains("unet/: diffusion_pytorch_model.safetensors is missing", e.Problems);
        Assert.Contains("text_encoder: class CLIPTextModelWithProjection is not supported (expected CLIPTextModel)", e.Problems);
    }

    [Fact]
    public void A_null_component_in_model_index_json_is_reported()
    {
        using var model = new TinyModelFolder();
        File.WriteAllText(model.File("model_index.json"),
            File.ReadAllText(model.File("model_index.json")).Replace("[\"diffusers\", \"PNDMScheduler\"]", "[null, null]"));
        var e = Assert.Throws<ModelIndexException>(() => ModelIndex.Load(model.Path));
        Assert.Equal("model_index.json names no scheduler component", Assert.Single(e.Problems));
    }

    [Fact]
    public void Fp16_variant_files_are_used_when_alone_or_when_asked_for()
    {
        using var model = new TinyModelFolder();
        var plain = model.File("unet/diffusion_pytorch_model.safetensors");
        var fp16 = model.File("unet/diffusion_pytorch_model.fp16.safetensors");
        File.Copy(plain, fp16);

        Assert.Equal(plain, ModelIndex.Load(model.Path).Unet.WeightsPath);
        Assert.Equal(fp16, ModelIndex.Load(model.Path, variant: "fp16").Unet.WeightsPath);
        File.Delete(plain);
        Assert.Equal(fp16, ModelIndex.Load(model.Path).Unet.WeightsPath);
    }
}

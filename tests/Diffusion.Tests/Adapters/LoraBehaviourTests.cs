using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text.Json;
using Farm.Diffusion.Adapters;
using Farm.Diffusion.Models;
using Farm.Diffusion.Models.Layers;
using Farm.Diffusion.Tests.Golden;
using Farm.Diffusion.Torch;
using Farm.Diffusion.Weights;
using Farm.Testing;
using F = Farm.Diffusion.Torch.torch.nn.functional;

namespace Farm.Diffusion.Tests.Adapters;

public sealed class LoraBehaviourTests(SdTinyModels models) : IClassFixture<SdTinyModels>
{
    private static string FilePath(string name) => Fixtures.PathIn(Fixtures.Adapters, "files", name);

    private const string Prompt = "a photograph of an astronaut riding a horse";

    [SkippableFact]
    public void Switching_a_lora_on_and_off_100_times_leaves_every_base_parameter_bit_identical()
    {
        using var lora = LoraFile.Load(FilePath("lora_a.kohya.safetensors"));
        var before = ParameterHashes();
        using var scope = torch.NewDisposeScope();
        var baseEmbeds = models.PromptEmbeds(Prompt, "");
        for (var i = 0; i < 100; i++)
        {
            using var applied = AppliedLoras.Apply([new LoraActivation(lora)], models.LoraModels, scale: 1.0);
            if (i % 33 == 0)
            {
                using var inner = torch.NewDisposeScope();
                Assert.True((models.PromptEmbeds(Prompt, "") - baseEmbeds).MaxAbs() > 1e-3, "the LoRA is active inside the scope");
            }
        }
        var after = ParameterHashes();
        Assert.Equal(before.Count, after.Count);
        foreach (var (key, hash) in before) Assert.True(after[key] == hash, $"parameter {key} changed");
        Close.Assert(baseEmbeds, models.PromptEmbeds(Prompt, ""), 0, "prompt_embeds after 100 on/off");
    }

    [SkippableFact]
    public void Scale_zero_is_exactly_the_base_model()
    {
        using var lora = LoraFile.Load(FilePath("lora_a.kohya.safetensors"));
        using var golden = GoldenCase.Open(Fixtures.Adapters, "lora_kohya_scale0");
        using var scope = torch.NewDisposeScope();
        var embedsBase = models.PromptEmbeds(Prompt, "");
        var sample = golden.Tensor("unet_inputs").select(0, 3);
        var t = golden.Tensor("timesteps").select(0, 3);
        var ehs = golden.Tensor("prompt_embeds");
        var unetBase = models.Unet.Forward(sample, t, ehs);
        using var applied = AppliedLoras.Apply([new LoraActivation(lora)], models.LoraModels, scale: 0);
        Close.Assert(embedsBase, models.PromptEmbeds(Prompt, ""), 0, "text encoder at scale 0");
        Close.Assert(unetBase, models.Unet.Forward(sample, t, ehs), 0, "unet at scale 0");
    }

    [SkippableFact]
    public void The_diffusers_file_gives_bit_identical_results_to_the_kohya_file()
    {
        // README: alpha/rank = 0.5 is folded into the diffusers file's up weights; a power of two commutes exactly.
        using var kohya = LoraFile.Load(FilePath("lora_a.kohya.safetensors"));
        using var diffusers = LoraFile.Load(FilePath(Path.Combine("lora_a_diffusers", "pytorch_lora_weights.safetensors")));
        Assert.All(diffusers.Modules, m => Assert.Null(m.Alpha));
        Assert.Equal(kohya.Modules.Count, diffusers.Modules.Count);
        using var golden = GoldenCase.Open(Fixtures.Adapters, "lora_kohya_scale1");
        using var scope = torch.NewDisposeScope();
        var sample = golden.Tensor("unet_inputs").select(0, 0);
        var t = golden.Tensor("timesteps").select(0, 0);
        var ehs = golden.Tensor("prompt_embeds");
        Tensor embedsK, unetK;
        using (AppliedLoras.Apply([new LoraActivation(kohya)], models.LoraModels))
        {
            embedsK = models.PromptEmbeds(Prompt, "");
            unetK = models.Unet.Forward(sample, t, ehs);
        }
        using (AppliedLoras.Apply([new LoraActivation(diffusers)], models.LoraModels))
        {
            Close.Assert(embedsK, models.PromptEmbeds(Prompt, ""), 0, "prompt_embeds kohya vs diffusers file");
            Close.Assert(unetK, models.Unet.Forward(sample, t, ehs), 0, "unet kohya vs diffusers file");
        }
    }

    [SkippableTheory]
    [InlineData("lora_a.kohya.safetensors")]
    [InlineData("lora_b.kohya.safetensors")]
    [InlineData("sdxl_lora.kohya.safetensors")]
    public void A_kohya_file_parses_into_one_module_per_down_up_alpha_triple_with_the_recorded_rank_and_alpha(string name)
    {
        using var info = JsonDocument.Parse(File.ReadAllText(FilePath("adapters_info.json")));
        var entry = info.RootElement.GetProperty(name);
        using var lora = LoraFile.Load(FilePath(name));
        Assert.Equal(entry.GetProperty("tensors").GetInt32(), lora.Modules.Count * 3);
        Assert.All(lora.Modules, m =>
        {
            Assert.Equal(LoraNaming.Kohya, m.Naming);
            Assert.Equal(entry.GetProperty("rank").GetInt64(), m.Rank);
            Assert.Equal(entry.GetProperty("alpha").GetDouble(), m.Alpha);
        });
        if (name.StartsWith("sdxl", StringComparison.Ordinal))
        {
            Assert.True(lora.Targets(LoraComponent.Unet));
            Assert.True(lora.Targets(LoraComponent.TextEncoder));
            Assert.True(lora.Targets(LoraComponent.TextEncoder2));
        }
    }

    [SkippableFact]
    public void The_diffusers_file_maps_its_three_naming_styles_onto_the_same_modules_as_the_kohya_file()
    {
        using var kohya = LoraFile.Load(FilePath("lora_a.kohya.safetensors"));
        using var diffusers = LoraFile.Load(FilePath(Path.Combine("lora_a_diffusers", "pytorch_lora_weights.safetensors")));
        Assert.Contains(diffusers.Modules, m => m.DownKey.EndsWith(".lora.down.weight", StringComparison.Ordinal));
        Assert.Contains(diffusers.Modules, m => m.DownKey.EndsWith(".lora_linear_layer.down.weight", StringComparison.Ordinal));
        Assert.Contains(diffusers.Modules, m => m.DownKey.EndsWith(".lora_A.weight", StringComparison.Ordinal));
        Assert.Equal(
            kohya.Modules.Select(m => (m.Component, m.ModuleName)).Order(),
            diffusers.Modules.Select(m => (m.Component, m.ModuleName.Replace('.', '_'))).Order());
    }

    [SkippableFact]
    public void A_key_that_matches_no_module_is_an_error_naming_the_key_and_the_file()
    {
        const string key = "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_z.lora_down.weight";
        var path = WriteLora([(key, [4, 32]), (key.Replace("lora_down", "lora_up"), [32, 4])]);
        try
        {
            using var lora = LoraFile.Load(path);
            var error = Assert.Throws<InvalidDataException>(() => AppliedLoras.Apply([new LoraActivation(lora)], models.LoraModels));
            Assert.Contains(key, error.Message);
            Assert.Contains(path, error.Message);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [SkippableFact]
    public void A_lora_for_another_model_size_is_an_error_naming_the_key_and_both_shapes_and_attaches_nothing()
    {
        const string good = "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_q";
        const string bad = "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k";
        var path = WriteLora([
            (good + ".lora_down.weight", [4, 32]), (good + ".lora_up.weight", [32, 4]),
            (bad + ".lora_down.weight", [4, 768]), (bad + ".lora_up.weight", [32, 4]),
        ]);
        try
        {
            using var lora = LoraFile.Load(path);
            var before = ParameterHashes();
            var error = Assert.Throws<InvalidDataException>(() => AppliedLoras.Apply([new LoraActivation(lora)], models.LoraModels));
            Assert.Contains(bad + ".lora_down.weight", error.Message);
            Assert.Contains("[4, 768]", error.Message);
            Assert.Contains("[4, 32]", error.Message); // what the 32-wide to_k needs
            Assert.Contains("[32, 32]", error.Message); // the module's weight
            Assert.Equal(before, ParameterHashes());
            var layer = models.Unet.NamedModules().Single(m => m.Path == "down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q").Module;
            Assert.Empty(((Linear)layer).Adapters.Active);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [SkippableFact]
    public void An_sdxl_lora_on_the_sd1_model_is_a_clear_error()
    {
        using var lora = LoraFile.Load(FilePath("sdxl_lora.kohya.safetensors"));
        var error = Assert.Throws<InvalidDataException>(() => AppliedLoras.Apply([new LoraActivation(lora)], models.LoraModels));
        Assert.Contains("sdxl_lora.kohya.safetensors", error.Message);
        Assert.Contains("lora_", error.Message);
    }

    [SkippableFact]
    public void A_tensor_that_is_no_lora_key_is_an_error_naming_it()
    {
        var path = WriteLora([("model.diffusion_model.input_blocks.1.weight", [4, 4])]);
        try
        {
            var error = Assert.Throws<InvalidDataException>(() => LoraFile.Load(path));
            Assert.Contains("model.diffusion_model.input_blocks.1.weight", error.Message);
            Assert.Contains(path, error.Message);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [SkippableFact]
    public void A_kohya_lora_of_a_1x1_proj_in_conv_attaches_to_that_conv_for_the_scope_only()
    {
        const string name = "lora_unet_mid_block_attentions_0_proj_in";
        var path = WriteLora([(name + ".lora_down.weight", [2, 64, 1, 1]), (name + ".lora_up.weight", [64, 2, 1, 1]), (name + ".alpha", [])]);
        try
        {
            using var lora = LoraFile.Load(path);
            var conv = (Conv2d)models.Unet.NamedModules().Single(m => m.Path == "mid_block.attentions.0.proj_in").Module;
            using (var applied = AppliedLoras.Apply([new LoraActivation(lora)], models.LoraModels))
            {
                Assert.Equal(1, applied.Count);
                Assert.Single(conv.Adapters.Active);
            }
            Assert.Empty(conv.Adapters.Active);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void A_conv_lora_adds_the_same_as_merging_up_times_down_into_the_kernel()
    {
        using var scope = torch.NewDisposeScope();
        using var conv = new Conv2d(6, 5, 1);
        using var gen = new Generator(1234);
        conv.Load(RandomWeights.For(conv, 99, "random conv"), ScalarType.Float32, Device.Cpu);
        var x = torch.randn([2, 6, 4, 4], gen);
        var down = torch.randn([3, 6, 1, 1], gen);
        var up = torch.randn([5, 3, 1, 1], gen);
        const double factor = 0.375;
        var baseOut = conv.Forward(x);
        var adapter = new LowRankAdapter(down, up, factor);
        conv.Adapters.Attach(adapter);
        var withLora = conv.Forward(x);
        conv.Adapters.Detach(adapter);
        Close.Assert(baseOut, conv.Forward(x), 0, "detached conv");
        var (w, b) = (conv.NamedParameters().Single(p => p.Key == "weight").Parameter.Value, conv.NamedParameters().Single(p => p.Key == "bias").Parameter.Value);
        var delta = F.matmul(up.reshape(5, 3), down.reshape(3, 6)).reshape(5, 6, 1, 1);
        var merged = F.conv2d(x, w + delta * factor, b);
        Close.Assert(merged, withLora, 1e-5, "unmerged vs merged 1x1 conv LoRA");
        Assert.True((withLora - baseOut).MaxAbs() > 1e-2);
    }

    private Dictionary<string, string> ParameterHashes()
    {
        var hashes = new Dictionary<string, string>();
        foreach (var (prefix, model) in new (string, Module)[] { ("unet.", models.Unet), ("text_encoder.", models.TextEncoder) })
            foreach (var (key, p) in model.NamedParameters())
                hashes[prefix + key] = Convert.ToHexString(SHA256.HashData(MemoryMarshal.AsBytes(p.Value.ToArray<float>().AsSpan())));
        return hashes;
    }

    private static string WriteLora(IEnumerable<(string Name, long[] Shape)> tensors)
    {
        var path = Path.Combine(Path.GetTempPath(), $"farm-lora-{Guid.NewGuid():N}.safetensors");
        SafetensorsWriter.Write(path, tensors.Select(t =>
            (t.Name, SafetensorsDType.F32, t.Shape, (ReadOnlyMemory<byte>)new byte[t.Shape.Aggregate(1L, (a, b) => a * b) * 4])));
        return path;
    }
}

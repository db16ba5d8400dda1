using System.Runtime.InteropServices;
using Farm.Diffusion.Models;
using Farm.Diffusion.Models.Clip;
using Farm.Diffusion.Tests.Golden;
using Farm.Diffusion.Tokenization;
using Farm.Diffusion.Torch;
using Farm.Diffusion.Weights;

namespace Farm.Diffusion.Tests.Models;

public sealed class TinyModelTests
{
    [Fact]
    public void The_written_folder_loads_with_the_model_index_tokenizer_and_text_encoder()
    {
        using var model = new TinyModelFolder();
        var index = ModelIndex.Load(model.Path);
        Assert.Equal("PNDMScheduler", index.Scheduler.ClassName);

        var tokenizer = ClipTokenizer.FromDirectory(index.Tokenizer.Directory);
        using var encoder = CLIPTextModel.FromPretrained(index.TextEncoder.Directory, index.TextEncoder.WeightsPath!, ScalarType.Float32, Device.Cpu);
        Assert.Equal(tokenizer.VocabularySize, encoder.Config.VocabSize);
        Assert.Equal(tokenizer.EosTokenId, encoder.Config.EosTokenId);

        using var scope = torch.NewDisposeScope();
        var ids = tokenizer.Encode("a photo of a cat, highly detailed.");
        using var output = encoder.Forward(torch.tensor(ids.Select(i => (long)i).ToArray(), 1, 77));
        Assert.Equal([1L, 77, 32], output.LastHiddenState.shape);
        var values = output.LastHiddenState.ToArray<float>();
        Assert.All(values, v => Assert.True(float.IsFinite(v)));
        // final_layer_norm with unit scale: each row has mean 0 and std ~1, not a constant.
        var std = Math.Sqrt(values.Select(v => (double)v * v).Average());
        Assert.InRange(std, 0.9, 1.1);

        // Non-legacy eos id: pooler_output is the row of the first eos (position 10 here).
        var eosAt = Array.IndexOf(ids, tokenizer.EosTokenId);
        Assert.Equal(10, eosAt);
        Close.Assert(output.LastHiddenState.select(1, eosAt), output.PoolerOutput!, 0, "pooler row");
    }

    [Fact]
    public void The_tokenizer_has_a_small_vocabulary_that_keeps_common_words_whole()
    {
        using var model = new TinyModelFolder();
        var tokenizer = ClipTokenizer.FromDirectory(model.File("tokenizer"));
        Assert.InRange(tokenizer.VocabularySize, 600, 2000);
        Assert.Equal(tokenizer.VocabularySize - 2, tokenizer.BosTokenId);
        Assert.Equal(tokenizer.VocabularySize - 1, tokenizer.EosTokenId);
        Assert.Equal(tokenizer.EosTokenId, tokenizer.PadTokenId);
        Assert.Equal(77, tokenizer.MaxLength);

        var ids = tokenizer.Encode("A photo of an astronaut riding a horse, highly detailed!");
        Assert.Equal(tokenizer.BosTokenId, ids[0]);
        var tokens = ids.Skip(1).TakeWhile(id => id != tokenizer.EosTokenId).Select(tokenizer.TokenText).ToArray();
        Assert.Equal(
            ["a</w>", "photo</w>", "of</w>", "an</w>", "astronaut</w>", "riding</w>", "a</w>", "horse</w>", ",</w>",
             "highly</w>", "detailed</w>", "!</w>"],
            tokens);
        Assert.All(ids.Skip(1 + tokens.Length), id => Assert.Equal(tokenizer.EosTokenId, id));

        // Unknown words fall back to smaller pieces, and any UTF-8 to byte symbols: never the unknown token.
        var odd = tokenizer.EncodeWithoutPadding("zyzzyva café 🎉 日本 42");
        Assert.DoesNotContain(tokenizer.UnknownTokenId, odd);
        var byteOf = Enumerable.Range(0, 256).ToDictionary(b => ByteLevelAlphabet.ByteToChar[b], b => (byte)b);
        var bytes = string.Concat(odd.Select(tokenizer.TokenText)).Replace("</w>", "").Select(ch => byteOf[ch]).ToArray();
        Assert.Equal("zyzzyvacafé🎉日本42", System.Text.Encoding.UTF8.GetString(bytes));
    }

    [Fact]
    public void The_same_seed_writes_identical_files_and_another_seed_other_weights()
    {
        using var a = new TinyModelFolder(seed: 7);
        using var b = new TinyModelFolder(seed: 7);
        using var c = new TinyModelFolder(seed: 8);
        foreach (var file in Directory.EnumerateFiles(a.Path, "*", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(a.Path, file);
            Assert.True(File.ReadAllBytes(file).AsSpan().SequenceEqual(File.ReadAllBytes(b.File(relative))), relative);
        }
        Assert.Equal(ModelIndex.Load(a.Path).Hash, ModelIndex.Load(b.Path).Hash);
        Assert.NotEqual(ModelIndex.Load(a.Path).Hash, ModelIndex.Load(c.Path).Hash);
    }

    [Fact]
    public void Weights_are_zero_biases_unit_norm_scales_and_fan_in_scaled_noise()
    {
        using var model = new TinyModelFolder();
        using var file = SafetensorsFile.Open(model.File("text_encoder/model.safetensors"));
        Assert.Equal(TinyModel.TextEncoderParameters().Select(p => p.Key), file.Tensors.Select(t => t.Name));

        Assert.All(file.ReadFloat32("text_model.encoder.layers.0.mlp.fc1.bias"), v => Assert.Equal(0f, v));
        Assert.All(file.ReadFloat32("text_model.final_layer_norm.weight"), v => Assert.Equal(1f, v));
        var fc2 = file.ReadFloat32("text_model.encoder.layers.1.mlp.fc2.weight"); // [32, 37]
        var std = Math.Sqrt(fc2.Select(v => (double)v * v).Average());
        Assert.InRange(std, 0.8 / Math.Sqrt(37), 1.2 / Math.Sqrt(37));

        using var unet = SafetensorsFile.Open(model.File("unet/diffusion_pytorch_model.safetensors"));
        Assert.Equal(TinyModelFolder.UnetStandIn.Select(p => p.Key), unet.Tensors.Select(t => t.Name));
        Assert.Equal([32L, 4, 3, 3], unet["conv_in.weight"].Shape);
    }

    [Fact]
    public void A_checkpoint_with_the_legacy_position_ids_buffer_still_loads_strictly()
    {
        using var model = new TinyModelFolder();
        var path = model.File("text_encoder/model.safetensors");
        var legacy = model.File("legacy.safetensors");
        using (var file = SafetensorsFile.Open(path))
        {
            var tensors = file.Tensors
                .Select(t => (t.Name, t.DType, t.Shape, (ReadOnlyMemory<byte>)file.GetBytes(t.Name).ToArray()))
                .Append(("text_model.embeddings.position_ids", SafetensorsDType.I64, new long[] { 1, 77 },
                    MemoryMarshal.AsBytes(Enumerable.Range(0, 77).Select(i => (long)i).ToArray().AsSpan()).ToArray()))
                .ToList();
            SafetensorsWriter.Write(legacy, tensors);
        }
        using var encoder = CLIPTextModel.FromPretrained(model.File("text_encoder"), legacy, ScalarType.Float32, Device.Cpu);

        // Any other stray key is still an error.
        using var weights = SafetensorsWeights.Open(legacy);
        using var other = new CLIPTextModel(TinyModel.TextEncoderConfig with { NumHiddenLayers = 2 });
        var e = Assert.Throws<InvalidDataException>(() => other.LoadWeights(weights, ScalarType.Float32, Device.Cpu));
        Assert.Contains("text_model.encoder.layers.2.", e.Message);
        Assert.DoesNotContain("position_ids", e.Message);
    }
}

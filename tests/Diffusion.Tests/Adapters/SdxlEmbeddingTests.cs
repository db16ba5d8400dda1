using System.Runtime.InteropServices;
using System.Text.Json;
using Farm.Diffusion.Adapters;
using Farm.Diffusion.Models;
using Farm.Diffusion.Models.Clip;
using Farm.Diffusion.Pipelines;
using Farm.Diffusion.Tests.Golden;
using Farm.Diffusion.Tokenization;
using Farm.Diffusion.Torch;
using Farm.Diffusion.Tests.Pipelines;
using Farm.Diffusion.Weights;
using Farm.Testing;
using Xunit;

namespace Farm.Diffusion.Tests.Adapters;

/// <summary>
/// SDXL textual inversion (<c>clip_l</c> for text_encoder, <c>clip_g</c> for text_encoder_2, as diffusers loads
/// them). No fixture records one, so the embedding is built from the model itself: each part holds its encoder's own
/// token-embedding row for "cat", so in each encoder the new token must embed exactly as "cat" does. (A whole render
/// differs, as in diffusers: CLIP pools at the highest token id, which the added token now is.)
/// </summary>
[Collection(PipelineCollection.Name)]
public sealed class SdxlEmbeddingTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("farm-sdxl-ti-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    [SkippableFact]
    public void Each_part_goes_to_its_own_text_encoder()
    {
        var model = Fixtures.Model(Fixtures.SdxlTiny);
        var embedding = Path.Combine(dir, "felis.safetensors");
        SafetensorsWriter.Write(embedding, [Row(model, "clip_l", "text_encoder", "tokenizer"), Row(model, "clip_g", "text_encoder_2", "tokenizer_2")]);
        var index = ModelIndex.Load(model);
        using var first = CLIPTextModel.FromPretrained(index.TextEncoder, ScalarType.Float32, Device.Cpu);
        using var second = CLIPTextModelWithProjection.FromPretrained(index.Components["text_encoder_2"], ScalarType.Float32, Device.Cpu);
        var encoders = new Module[] { first, second };
        var targets = new AdapterTargets(first, [ // no LoRA: the UNet slot is never touched
            new TextEncoderTarget(first, ClipTokenizer.FromDirectory(Path.Combine(model, "tokenizer"))),
            new TextEncoderTarget(second, ClipTokenizer.FromDirectory(Path.Combine(model, "tokenizer_2"))),
        ]);
        using var cache = new AdapterCache();
        using var applied = cache.Apply([], [new EmbeddingReference(embedding, "<felis>")], targets);

        for (var i = 0; i < 2; i++)
        {
            using var scope = torch.NewDisposeScope();
            var table = encoders[i].NamedModules().Select(m => m.Module).OfType<CLIPTextEmbeddings>().Single();
            var withToken = applied.Encode("a <felis> on a roof", i);
            var withCat = applied.Encode("a cat on a roof", i);
            Assert.NotEqual(withCat, withToken);
            Close.Assert(table.TokenEmbedding(torch.tensor(withCat.Select(id => (long)id).ToArray(), 1, withCat.Length)),
                table.TokenEmbedding(torch.tensor(withToken.Select(id => (long)id).ToArray(), 1, withToken.Length)), 0, $"text encoder {i}");
        }
    }

    [SkippableFact]
    public void An_sdxl_embedding_on_a_one_encoder_model_is_refused_saying_why()
    {
        var sdxl = Fixtures.Model(Fixtures.SdxlTiny);
        var embedding = Path.Combine(dir, "felis.safetensors");
        SafetensorsWriter.Write(embedding, [Row(sdxl, "clip_l", "text_encoder", "tokenizer"), Row(sdxl, "clip_g", "text_encoder_2", "tokenizer_2")]);
        using var pipeline = StableDiffusionPipeline.Load(Fixtures.Model(Fixtures.SdTiny), new PipelineOptions { Threads = 2 });
        var error = Assert.Throws<InvalidDataException>(() => pipeline.Render(new RenderRequest
        {
            Prompt = "a <felis>", Seeds = [1], Steps = 1, Embeddings = [new EmbeddingReference(embedding, "<felis>")],
        }));
        Assert.Contains("two text encoders", error.Message);
    }

    /// <summary>The encoder's token-embedding row of "cat&lt;/w&gt;" as a [1, width] F32 tensor named <paramref name="name"/>.</summary>
    private static (string, SafetensorsDType, long[], ReadOnlyMemory<byte>) Row(string model, string name, string encoder, string tokenizer)
    {
        using var vocab = JsonDocument.Parse(File.ReadAllText(Path.Combine(model, tokenizer, "vocab.json")));
        var id = vocab.RootElement.GetProperty("cat</w>").GetInt32();
        using var weights = SafetensorsFile.Open(Path.Combine(model, encoder, "model.safetensors"));
        var table = weights["text_model.embeddings.token_embedding.weight"];
        var width = (int)table.Shape[1];
        var row = weights.GetBytes(table.Name).Slice(id * width * sizeof(float), width * sizeof(float)).ToArray();
        return (name, SafetensorsDType.F32, [1, width], row);
    }
}

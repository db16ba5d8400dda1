using System.Text.Json;

namespace Farm.Diffusion.Models.Clip;

/// <summary>
/// transformers' <c>CLIPTextConfig</c>: the fields of <c>text_encoder/config.json</c> the text model uses.
/// <see cref="EosTokenId"/> matters only for <c>pooler_output</c>: the legacy value 2 (SD1.x configs) selects
/// transformers' old rule "position of the largest id" instead of "first eos position".
/// </summary>
internal sealed record CLIPTextConfig(
    int VocabSize,
    int HiddenSize,
    int IntermediateSize,
    int NumHiddenLayers,
    int NumAttentionHeads,
    int MaxPositionEmbeddings,
    string HiddenAct,
    double LayerNormEps,
    int BosTokenId,
    int EosTokenId,
    int PadTokenId)
{
    public int HeadDim => HiddenSize / NumAttentionHeads;

    /// <summary>CLIPTextModelWithProjection: output width of the bias-free <c>text_projection</c>.</summary>
    public int ProjectionDim { get; init; } = 512;

    public static CLIPTextConfig FromFile(string configPath)
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(configPath));
        try
        {
            return FromJson(doc.RootElement);
        }
        catch (Exception e) when (e is InvalidDataException or InvalidOperationException or FormatException)
        {
            throw new InvalidDataException($"{configPath}: {e.Message}", e);
        }
    }

    public static CLIPTextConfig FromJson(JsonElement root)
    {
        // Defaults are transformers' CLIPTextConfig defaults, for keys a config may omit.
        var config = new CLIPTextConfig(
            VocabSize: Int(root, "vocab_size", 49408),
            HiddenSize: Int(root, "hidden_size", 512),
            IntermediateSize: Int(root, "intermediate_size", 2048),
            NumHiddenLayers: Int(root, "num_hidden_layers", 12),
            NumAttentionHeads: Int(root, "num_attention_heads", 8),
            MaxPositionEmbeddings: Int(root, "max_position_embeddings", 77),
            HiddenAct: root.TryGetProperty("hidden_act", out var act) && act.ValueKind == JsonValueKind.String ? act.GetString()! : "quick_gelu",
            LayerNormEps: root.TryGetProperty("layer_norm_eps", out var eps) && eps.ValueKind == JsonValueKind.Number ? eps.GetDouble() : 1e-5,
            BosTokenId: Int(root, "bos_token_id", 49406),
            EosTokenId: Int(root, "eos_token_id", 49407),
            PadTokenId: Int(root, "pad_token_id", 1))
        {
            ProjectionDim = Int(root, "projection_dim", 512),
        };
        if (config.HiddenAct is not ("quick_gelu" or "gelu"))
            throw new InvalidDataException($"hidden_act '{config.HiddenAct}' is not supported (quick_gelu or gelu)");
        if (config.HiddenSize % config.NumAttentionHeads != 0)
            throw new InvalidDataException($"hidden_size {config.HiddenSize} is not divisible by num_attention_heads {config.NumAttentionHeads}");
        return config;
    }

    /// <summary>The config as transformers writes it (for the tiny model writer).</summary>
    public string ToJson()
    {
        using var stream = new MemoryStream();
        using (var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartObject();
            json.WriteStartArray("architectures");
            json.WriteStringValue("CLIPTextModel");
            json.WriteEndArray();
            json.WriteNumber("attention_dropout", 0.0);
            json.WriteNumber("bos_token_id", BosTokenId);
            json.WriteNumber("dropout", 0.0);
            json.WriteNumber("eos_token_id", EosTokenId);
            json.WriteString("hidden_act", HiddenAct);
            json.WriteNumber("hidden_size", HiddenSize);
            json.WriteNumber("initializer_factor", 1.0);
            json.WriteNumber("initializer_range", 0.02);
            json.WriteNumber("intermediate_size", IntermediateSize);
            json.WriteNumber("layer_norm_eps", LayerNormEps);
            json.WriteNumber("max_position_embeddings", MaxPositionEmbeddings);
            json.WriteString("model_type", "clip_text_model");
            json.WriteNumber("num_attention_heads", NumAttentionHeads);
            json.WriteNumber("num_hidden_layers", NumHiddenLayers);
            json.WriteNumber("pad_token_id", PadTokenId);
            json.WriteNumber("projection_dim", HiddenSize);
            json.WriteString("torch_dtype", "float32");
            json.WriteNumber("vocab_size", VocabSize);
            json.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(stream.ToArray()) + "\n";
    }

    private static int Int(JsonElement root, string name, int fallback) =>
        root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number ? value.GetInt32() : fallback;
}

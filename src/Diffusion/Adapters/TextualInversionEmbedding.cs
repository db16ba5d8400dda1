using Farm.Diffusion.Models;
using Farm.Diffusion.Torch;
using Farm.Diffusion.Weights;
using Farm.Diffusion.Weights.Pickle;

namespace Farm.Diffusion.Adapters;

/// <summary>
/// A textual-inversion embedding: n vectors of the text encoder's width, as float32 values (small: n × 768 for SD1).
/// <see cref="StoredToken"/> is the key of a diffusers <c>learned_embeds</c> file (null for A1111 files); Farm uses it
/// only for messages — the token is the one given, else the file stem (docs/decisions.md).
/// </summary>
internal sealed record TextualInversionEmbedding(string Path, string Format, string? StoredToken, int VectorCount, int Width, float[] Vectors)
{
    /// <summary>The A1111 tensor name of an embedding stored as safetensors.</summary>
    public const string A1111Key = "emb_params";

    /// <summary>An SDXL embedding's tensors, one per text encoder in diffusers' order (CLIP ViT-L, then OpenCLIP bigG).</summary>
    private static readonly string[] SdxlKeys = ["clip_l", "clip_g"];

    /// <summary>
    /// An SDXL file's embedding per text encoder (<c>clip_l</c> for text_encoder, <c>clip_g</c> for text_encoder_2, as
    /// diffusers loads them); null for a single-tensor file, whose vectors go to every text encoder.
    /// </summary>
    public IReadOnlyList<TextualInversionEmbedding>? PerEncoder { get; init; }

    /// <summary>The vectors for text encoder <paramref name="index"/> of a model with <paramref name="encoderCount"/> of them.</summary>
    public TextualInversionEmbedding ForEncoder(int index, int encoderCount)
    {
        if (PerEncoder is null) return this;
        if (PerEncoder.Count != encoderCount)
            throw new InvalidDataException($"{Path}: an SDXL embedding (clip_l, clip_g) needs a model with two text encoders; this one has {encoderCount}");
        return PerEncoder[index];
    }

    /// <summary>Loads an A1111 <c>.safetensors</c> (<c>emb_params</c> [n, H]) or a diffusers <c>learned_embeds</c> file (one key = the token, [H] or [n, H]).</summary>
    public static TextualInversionEmbedding Load(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"embedding file not found: {path}", path);
        if (path.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase)) return LoadSafetensors(path);
        if (path.EndsWith(".pt", StringComparison.OrdinalIgnoreCase) || path.EndsWith(".bin", StringComparison.OrdinalIgnoreCase))
            return LoadTorchZip(path);
        throw new InvalidDataException($"{path}: not a textual-inversion file (expected .safetensors or .pt)");
    }

    private static TextualInversionEmbedding LoadSafetensors(string path)
    {
        using var file = SafetensorsFile.Open(path);
        if (file.Tensors.Count == SdxlKeys.Length && SdxlKeys.All(file.Contains)) return LoadSdxl(path, file);
        if (file.Tensors.Count != 1)
        {
            var names = string.Join(", ", file.Tensors.Select(t => t.Name).Take(5));
            throw new InvalidDataException($"{path}: a textual-inversion file holds one tensor (or SDXL's clip_l and clip_g), this one has {file.Tensors.Count} ({names})");
        }
        var name = file.Tensors[0].Name;
        using var raw = SafetensorsWeights.ReadRaw(file, name);
        var format = name == A1111Key ? "a1111_safetensors" : "diffusers";
        return FromTensor(path, format, name == A1111Key ? null : name, raw, $"'{name}'");
    }

    private static TextualInversionEmbedding LoadSdxl(string path, SafetensorsFile file)
    {
        var parts = SdxlKeys.Select(key =>
        {
            using var raw = SafetensorsWeights.ReadRaw(file, key);
            return FromTensor(path, "sdxl_safetensors", null, raw, $"'{key}'");
        }).ToList();
        if (parts[0].VectorCount != parts[1].VectorCount)
            throw new InvalidDataException($"{path}: clip_l has {parts[0].VectorCount} vectors but clip_g has {parts[1].VectorCount}; they must match");
        return parts[0] with { PerEncoder = parts };
    }

    /// <summary>
    /// A <c>torch.save</c> file, read by the restricted unpickler (it never runs code): A1111's
    /// <c>{'string_to_param': {'*': tensor[n, H]}, …}</c>, or a one-entry <c>{token: tensor}</c> (diffusers' <c>learned_embeds.bin</c>).
    /// </summary>
    private static TextualInversionEmbedding LoadTorchZip(string path)
    {
        using var checkpoint = TorchZipCheckpoint.Open(path);
        if (checkpoint.Root is not Dictionary<object, object?> root)
            throw new InvalidDataException($"{path}: a textual-inversion .pt holds a dictionary at the top level");
        if (root.TryGetValue("string_to_param", out var parameters))
        {
            if (parameters is not Dictionary<object, object?> byString
                || !(byString.TryGetValue("*", out var star) || byString.Count == 1 && (star = byString.Values.Single()) is not null)
                || star is not TorchTensorRef starTensor)
                throw new InvalidDataException($"{path}: 'string_to_param' has no '*' tensor");
            using var vectors = checkpoint.ReadTensor(starTensor);
            return FromTensor(path, "a1111_pt", null, vectors, "string_to_param['*']");
        }
        if (root.Count == 1 && root.Single() is { Key: string token, Value: TorchTensorRef single })
        {
            using var vectors = checkpoint.ReadTensor(single);
            return FromTensor(path, "diffusers", token, vectors, $"'{token}'");
        }
        throw new InvalidDataException(
            $"{path}: not a textual-inversion file (expected A1111's 'string_to_param' or a single token → tensor entry; keys: {string.Join(", ", root.Keys.Take(6))})");
    }

    /// <summary>Validates [H] or [n, H] and copies the values as float32.</summary>
    internal static TextualInversionEmbedding FromTensor(string path, string format, string? storedToken, Tensor vectors, string what)
    {
        if (vectors.dim() is not (1 or 2) || vectors.numel() == 0)
            throw new InvalidDataException($"{path}: embedding {what} has shape [{Shapes.Format(vectors.shape)}], expected [width] or [vectors, width]");
        var count = vectors.dim() == 1 ? 1 : (int)vectors.size(0);
        var width = (int)vectors.size(-1);
        using var asFloat = vectors.to(ScalarType.Float32, Device.Cpu);
        return new TextualInversionEmbedding(path, format, storedToken, count, width, asFloat.ToArray<float>());
    }

    /// <summary><c>tok</c>, <c>tok_1</c>, … <c>tok_{n−1}</c>: the tokens diffusers adds for an n-vector embedding.</summary>
    public IReadOnlyList<string> Tokens(string token) =>
        Enumerable.Range(0, VectorCount).Select(i => i == 0 ? token : $"{token}_{i}").ToArray();
}

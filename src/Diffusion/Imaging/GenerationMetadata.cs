using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Farm.Diffusion.Imaging;

/// <summary>
/// Everything needed to reproduce an image, stored in its PNG twice: as AUTOMATIC1111's
/// <c>parameters</c> text (so existing tools show it) and as exact JSON under <c>farm</c>
/// (which is what we parse back).
/// </summary>
public sealed record GenerationMetadata
{
    public const string A1111Keyword = "parameters";
    public const string JsonKeyword = "farm";

    public required string Prompt { get; init; }
    public string NegativePrompt { get; init; } = "";
    public required int Steps { get; init; }
    /// <summary>Farm's scheduler name (<c>euler-a</c>, <c>dpm++2m-karras</c>, …).</summary>
    public required string Sampler { get; init; }
    public required double CfgScale { get; init; }
    public required long Seed { get; init; }
    public required int Width { get; init; }
    public required int Height { get; init; }
    public required string ModelName { get; init; }
    /// <summary>Shown as A1111's "Model hash" (by convention the first 10 hex digits of the sha256).</summary>
    public string? ModelHash { get; init; }
    public required string EngineVersion { get; init; }
    public double? Strength { get; init; }
    public string? InitImageHash { get; init; }
    public bool? Masked { get; init; }
    public string? DType { get; init; }
    /// <summary>SDXL's second prompts, when given.</summary>
    public string? Prompt2 { get; init; }
    public string? NegativePrompt2 { get; init; }
    /// <summary>diffusers' <c>clip_skip</c> (A1111's "Clip skip" is one more); null when 0.</summary>
    public int? ClipSkip { get; init; }
    public IReadOnlyList<LoraMetadata>? Loras { get; init; }
    public IReadOnlyList<EmbeddingMetadata>? Embeddings { get; init; }
    public string? Device { get; init; }
    /// <summary>What made the image when it was not the engine: <c>simulated</c> for the farm's test renderer; null for a real render.</summary>
    public string? Renderer { get; init; }

    private static readonly JsonSerializerOptions jsonOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>Farm scheduler name → the name AUTOMATIC1111 shows; unknown names pass through.</summary>
    public static string A1111SamplerName(string sampler) => sampler.ToLowerInvariant() switch
    {
        "ddim" => "DDIM",
        "pndm" => "PLMS",
        "lms" => "LMS",
        "euler" => "Euler",
        "euler-a" => "Euler a",
        "dpm++2m" => "DPM++ 2M",
        "dpm++2m-karras" => "DPM++ 2M Karras",
        "ddpm" => "DDPM",
        "heun" => "Heun",
        "unipc" => "UniPC",
        _ => sampler,
    };

    public string ToA1111Parameters()
    {
        var sb = new StringBuilder(Prompt);
        if (NegativePrompt.Length > 0) sb.Append("\nNegative prompt: ").Append(NegativePrompt);
        var fields = new List<(string, string?)>
        {
            ("Steps", Steps.ToString(CultureInfo.InvariantCulture)),
            ("Sampler", A1111SamplerName(Sampler)),
            ("CFG scale", CfgScale.ToString("R", CultureInfo.InvariantCulture)),
            ("Seed", Seed.ToString(CultureInfo.InvariantCulture)),
            ("Size", $"{Width}x{Height}"),
            ("Model hash", ModelHash),
            ("Model", ModelName),
            ("Denoising strength", Strength?.ToString("R", CultureInfo.InvariantCulture)),
            ("Clip skip", ClipSkip is int skip ? (skip + 1).ToString(CultureInfo.InvariantCulture) : null),
            ("Lora hashes", Loras is { Count: > 0 } ? string.Join(", ", Loras.Select(l => $"{l.Name}: {l.Sha256[..12]}")) : null),
            ("TI hashes", Embeddings is { Count: > 0 } ? string.Join(", ", Embeddings.Select(e => $"{e.Token}: {e.Sha256[..12]}")) : null),
            ("Version", EngineVersion),
        };
        sb.Append('\n').AppendJoin(", ", fields.Where(f => f.Item2 is not null).Select(f => $"{f.Item1}: {Quote(f.Item2!)}"));
        return sb.ToString();
    }

    // A1111's quote(): values holding separators are written as JSON strings.
    private static string Quote(string value) =>
        value.Contains(',') || value.Contains('\n') || value.Contains(':')
            ? JsonSerializer.Serialize(value, jsonOptions)
            : value;

    public string ToJson() => JsonSerializer.Serialize(this, jsonOptions);

    public static GenerationMetadata FromJson(string json) =>
        JsonSerializer.Deserialize<GenerationMetadata>(json, jsonOptions)
            ?? throw new InvalidDataException("generation metadata JSON is null");

    /// <summary>The text chunks to write into a PNG.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> ToPngText() =>
    [
        new(A1111Keyword, ToA1111Parameters()),
        new(JsonKeyword, ToJson()),
    ];

    /// <summary>Parses the <c>farm</c> chunk of a PNG's text, or null when there is none.</summary>
    public static GenerationMetadata? FromPngText(IReadOnlyDictionary<string, string> text) =>
        text.TryGetValue(JsonKeyword, out var json) ? FromJson(json) : null;

    public static GenerationMetadata? FromPng(Stream png) => FromPngText(PngDecoder.ReadText(png));

    public static GenerationMetadata? FromPng(string path)
    {
        using var file = File.OpenRead(path);
        return FromPng(file);
    }
}

using System.Text.Json;

namespace Farm.Diffusion.Tokenization;

/// <summary>
/// Special tokens and the maximum length from <c>tokenizer_config.json</c>, overridden by
/// <c>special_tokens_map.json</c> (the precedence transformers uses). The pad token is read, not
/// assumed: SD1.x pads with <c>&lt;|endoftext|&gt;</c>, SD2 with "!".
/// </summary>
internal sealed record SpecialTokens(string Bos, string Eos, string Unk, string Pad, IReadOnlyList<string> Extra)
{
    private const int DefaultMaxLength = 77;

    /// <summary>Every token transformers splits out of the raw text before BPE (its added-token trie).</summary>
    public IEnumerable<string> AllForSplitting => new[] { Bos, Eos, Unk, Pad }.Concat(Extra);

    public static (SpecialTokens Tokens, int MaxLength) Read(string dir)
    {
        string bos = "<|startoftext|>", eos = "<|endoftext|>", unk = "<|endoftext|>", pad = "<|endoftext|>";
        var extra = new List<string>();
        var maxLength = DefaultMaxLength;

        foreach (var file in new[] { "tokenizer_config.json", "special_tokens_map.json" })
        {
            var path = Path.Combine(dir, file);
            if (!File.Exists(path)) continue;
            using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
            var root = doc.RootElement;
            bos = TokenContent(root, "bos_token") ?? bos;
            eos = TokenContent(root, "eos_token") ?? eos;
            unk = TokenContent(root, "unk_token") ?? unk;
            pad = TokenContent(root, "pad_token") ?? pad;
            if (root.TryGetProperty("additional_special_tokens", out var additional) && additional.ValueKind == JsonValueKind.Array)
            {
                foreach (var item in additional.EnumerateArray())
                    if (Content(item) is { } s) extra.Add(s);
            }
            if (root.TryGetProperty("added_tokens_decoder", out var added) && added.ValueKind == JsonValueKind.Object)
            {
                foreach (var entry in added.EnumerateObject())
                    if (Content(entry.Value) is { } s) extra.Add(s);
            }
            // Some configs carry a huge sentinel (1e30) meaning "unset"; CLIP's position table is 77.
            if (root.TryGetProperty("model_max_length", out var max) && max.ValueKind == JsonValueKind.Number
                && max.TryGetDouble(out var m) && m >= 3 && m <= 4096)
            {
                maxLength = (int)m;
            }
        }
        return (new SpecialTokens(bos, eos, unk, pad, extra), maxLength);
    }

    private static string? TokenContent(JsonElement root, string name) =>
        root.TryGetProperty(name, out var value) ? Content(value) : null;

    // A token is either a plain string or an AddedToken object with "content".
    private static string? Content(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => value.GetString(),
        JsonValueKind.Object when value.TryGetProperty("content", out var c) && c.ValueKind == JsonValueKind.String => c.GetString(),
        _ => null,
    };
}

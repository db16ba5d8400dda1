using System.Text;
using System.Text.Json;
using Farm.Diffusion.Tokenization;

namespace Farm.Diffusion.Models;

/// <summary>
/// The tiny model's own CLIP-style BPE vocabulary, generated in code: the 256 byte symbols and their
/// <c>&lt;/w&gt;</c> word-end forms (so any UTF-8 text tokenizes without unknowns), merges learnt by plain BPE
/// training on a short weighted list of common prompt words (each ends up as one token), then
/// <c>&lt;|startoftext|&gt;</c> and <c>&lt;|endoftext|&gt;</c>. Same layout and file formats as CLIP's
/// vocab.json / merges.txt, about 900 entries instead of 49,408.
/// </summary>
internal static class TinyModelVocabulary
{
    public const string Bos = "<|startoftext|>";
    public const string Eos = "<|endoftext|>";
    private const string WordEnd = "</w>";

    // Most common first: earlier words weigh more in training, so their pieces get the lowest ranks.
    private const string Corpus =
        "a of the and with in on an by at to from is for photo photograph portrait painting art artwork " +
        "digital detailed highly high quality beautiful landscape city street night day sunset sunrise sky " +
        "cloud clouds mountain mountains river lake sea ocean beach forest tree trees flower flowers garden " +
        "house castle room cat dog horse bird fox lion tiger wolf bear fish dragon robot car man woman girl " +
        "boy person people face eyes hair red green blue yellow orange purple pink black white gray golden " +
        "silver light dark shadow snow rain fire water sun moon star stars space astronaut riding sitting " +
        "standing walking running flying wearing holding looking style oil watercolor sketch drawing " +
        "illustration render cinematic lighting dramatic soft sharp focus trending artstation masterpiece " +
        "best realistic photorealistic fantasy cute small big old young happy another sofa table chair " +
        "window door book old new under over behind near very long short";

    private static readonly Lazy<(List<string> Vocab, List<(string A, string B)> Merges)> built = new(Build);

    /// <summary>Every token in id order.</summary>
    public static IReadOnlyList<string> Tokens => built.Value.Vocab;

    public static IReadOnlyList<(string A, string B)> Merges => built.Value.Merges;

    public static int Size => Tokens.Count;

    public static int BosId => Size - 2;

    public static int EosId => Size - 1;

    /// <summary>Writes vocab.json, merges.txt, tokenizer_config.json and special_tokens_map.json into <paramref name="dir"/>.</summary>
    public static void Write(string dir)
    {
        Directory.CreateDirectory(dir);
        using (var stream = File.Create(Path.Combine(dir, "vocab.json")))
        using (var json = new Utf8JsonWriter(stream))
        {
            json.WriteStartObject();
            for (var id = 0; id < Tokens.Count; id++) json.WriteNumber(Tokens[id], id);
            json.WriteEndObject();
        }

        var merges = new StringBuilder("#version: 0.2\n");
        foreach (var (a, b) in Merges) merges.Append(a).Append(' ').Append(b).Append('\n');
        File.WriteAllText(Path.Combine(dir, "merges.txt"), merges.ToString(), new UTF8Encoding(false));

        // As transformers' CLIPTokenizer.save_pretrained writes them for SD1.x (pad = eos).
        File.WriteAllText(Path.Combine(dir, "tokenizer_config.json"), $$"""
            {
              "add_prefix_space": false,
              "bos_token": {"__type": "AddedToken", "content": "{{Bos}}", "lstrip": false, "normalized": true, "rstrip": false, "single_word": false},
              "do_lower_case": true,
              "eos_token": {"__type": "AddedToken", "content": "{{Eos}}", "lstrip": false, "normalized": true, "rstrip": false, "single_word": false},
              "errors": "replace",
              "model_max_length": 77,
              "pad_token": "{{Eos}}",
              "tokenizer_class": "CLIPTokenizer",
              "unk_token": {"__type": "AddedToken", "content": "{{Eos}}", "lstrip": false, "normalized": true, "rstrip": false, "single_word": false}
            }

            """);
        File.WriteAllText(Path.Combine(dir, "special_tokens_map.json"), $$"""
            {
              "bos_token": {"content": "{{Bos}}", "lstrip": false, "normalized": true, "rstrip": false, "single_word": false},
              "eos_token": {"content": "{{Eos}}", "lstrip": false, "normalized": true, "rstrip": false, "single_word": false},
              "pad_token": "{{Eos}}",
              "unk_token": {"content": "{{Eos}}", "lstrip": false, "normalized": true, "rstrip": false, "single_word": false}
            }

            """);
    }

    private static (List<string>, List<(string, string)>) Build()
    {
        // CLIP's order: bytes_to_unicode().values() (printable Latin-1 ranges first, then the remapped bytes).
        var byteOrder = Enumerable.Range('!', '~' - '!' + 1)
            .Concat(Enumerable.Range('¡', '¬' - '¡' + 1))
            .Concat(Enumerable.Range('®', 'ÿ' - '®' + 1))
            .ToList();
        byteOrder.AddRange(Enumerable.Range(0, 256).Where(b => !byteOrder.Contains(b)));
        var symbols = byteOrder.Select(b => ByteLevelAlphabet.ByteToChar[b].ToString()).ToList();

        var vocab = new List<string>(symbols);
        vocab.AddRange(symbols.Select(s => s + WordEnd));
        var merges = Train();
        // Two merges can spell the same token ("ab"+"c", "a"+"bc"); it gets one id.
        var seen = new HashSet<string>(vocab, StringComparer.Ordinal);
        foreach (var (a, b) in merges)
            if (seen.Add(a + b)) vocab.Add(a + b);
        vocab.Add(Bos);
        vocab.Add(Eos);
        return (vocab, merges);
    }

    /// <summary>Plain BPE: repeatedly merge the most frequent adjacent pair (ties: ordinal order) until every word is one symbol.</summary>
    private static List<(string A, string B)> Train()
    {
        var words = Corpus.Split(' ', StringSplitOptions.RemoveEmptyEntries).Distinct(StringComparer.Ordinal).ToList();
        var state = words.Select((w, i) => (Symbols: w.Select((c, j) => j == w.Length - 1 ? c + WordEnd : c.ToString()).ToList(), Weight: words.Count - i))
            .ToList();
        var merges = new List<(string, string)>();
        while (true)
        {
            var counts = new Dictionary<(string, string), int>();
            foreach (var (symbolsOfWord, weight) in state)
                for (var i = 0; i < symbolsOfWord.Count - 1; i++)
                {
                    var pair = (symbolsOfWord[i], symbolsOfWord[i + 1]);
                    counts[pair] = counts.GetValueOrDefault(pair) + weight;
                }
            if (counts.Count == 0) return merges;

            var best = counts.OrderByDescending(kv => kv.Value)
                .ThenBy(kv => kv.Key.Item1, StringComparer.Ordinal)
                .ThenBy(kv => kv.Key.Item2, StringComparer.Ordinal)
                .First().Key;
            merges.Add(best);
            foreach (var (symbolsOfWord, _) in state)
                for (var i = 0; i < symbolsOfWord.Count - 1; i++)
                {
                    if (symbolsOfWord[i] != best.Item1 || symbolsOfWord[i + 1] != best.Item2) continue;
                    symbolsOfWord[i] = best.Item1 + best.Item2;
                    symbolsOfWord.RemoveAt(i + 1);
                }
        }
    }
}

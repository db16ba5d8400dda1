using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using Microsoft.ML.Tokenizers;

namespace Farm.Diffusion.Tokenization;

/// <summary>
/// CLIP's byte-level BPE tokenizer, reproducing transformers' slow <c>CLIPTokenizer</c> without
/// ftfy (the path StableDiffusionPipeline takes). CLIP's text clean-up, its pre-tokenizer and the special and
/// added tokens are ours; the byte-level BPE of each pre-token is Microsoft.ML.Tokenizers' <see cref="BpeTokenizer"/>
/// (with <c>&lt;/w&gt;</c> word ends), which reproduces every tokenizer fixture. Thread-safe; results per
/// pre-token are cached.
/// </summary>
internal sealed partial class ClipTokenizer
{
    // CLIP's merges.txt holds more lines than CLIP uses: 49152 - 256 - 2 merges after the header.
    private const int MergeCount = 49152 - 256 - 2;
    private const int CacheLimit = 200_000;

    private readonly Dictionary<string, int> vocab;
    private readonly BpeTokenizer bpe;
    private readonly string[] specialTokens; // split out of the raw text first, longest first
    private readonly Dictionary<string, int> addedTokens; // textual-inversion tokens: ids VocabularySize, VocabularySize + 1, …
    private readonly string[] splitTokens; // special and added tokens, longest first
    private readonly ConcurrentDictionary<string, int[]> cache = new(StringComparer.Ordinal);
    private readonly Lazy<string[]> idToToken;

    public int MaxLength { get; }
    public int BosTokenId { get; }
    public int EosTokenId { get; }
    public int PadTokenId { get; }
    public int UnknownTokenId { get; }
    public int MaxContentTokens => MaxLength - 2;
    /// <summary>The entries of vocab.json (49408 for CLIP); added tokens get the ids from here on.</summary>
    public int VocabularySize => vocab.Count;

    /// <summary>Tokens added after the vocabulary (textual inversion), in id order.</summary>
    public IReadOnlyList<string> AddedTokens { get; }

    private ClipTokenizer(Dictionary<string, int> vocab, BpeTokenizer bpe, SpecialTokens special, int maxLength)
    {
        this.vocab = vocab;
        this.bpe = bpe;
        MaxLength = maxLength;
        BosTokenId = RequireId(special.Bos, "bos_token");
        EosTokenId = RequireId(special.Eos, "eos_token");
        PadTokenId = RequireId(special.Pad, "pad_token");
        UnknownTokenId = RequireId(special.Unk, "unk_token");
        specialTokens = special.AllForSplitting.Where(vocab.ContainsKey)
            .Distinct(StringComparer.Ordinal).OrderByDescending(s => s.Length).ToArray();
        addedTokens = new Dictionary<string, int>(StringComparer.Ordinal);
        AddedTokens = [];
        splitTokens = specialTokens;
        // transformers seeds its BPE cache so the literals map to themselves.
        cache[special.Bos] = [BosTokenId];
        cache[special.Eos] = [EosTokenId];
        idToToken = new Lazy<string[]>(() =>
        {
            var tokens = new string[vocab.Values.Max() + 1];
            foreach (var (token, id) in vocab) tokens[id] = token;
            return tokens;
        });
    }

    /// <summary>A copy sharing this tokenizer's vocabulary, merges and cache, with <paramref name="tokens"/> replacing the added tokens.</summary>
    private ClipTokenizer(ClipTokenizer source, IReadOnlyList<string> tokens)
    {
        vocab = source.vocab;
        bpe = source.bpe;
        specialTokens = source.specialTokens;
        cache = source.cache; // keyed by pre-tokens, which never contain an added token
        idToToken = source.idToToken;
        MaxLength = source.MaxLength;
        BosTokenId = source.BosTokenId;
        EosTokenId = source.EosTokenId;
        PadTokenId = source.PadTokenId;
        UnknownTokenId = source.UnknownTokenId;
        addedTokens = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var token in tokens)
        {
            if (string.IsNullOrEmpty(token)) throw new ArgumentException("an added token cannot be empty");
            if (vocab.ContainsKey(token)) throw new ArgumentException($"token '{token}' is already in the tokenizer's vocabulary; choose another token");
            if (!addedTokens.TryAdd(token, vocab.Count + addedTokens.Count)) throw new ArgumentException($"token '{token}' is added twice");
        }
        AddedTokens = tokens.ToArray();
        // transformers' added-token trie: at the earliest position, the longest token wins.
        splitTokens = specialTokens.Concat(AddedTokens).OrderByDescending(t => t.Length).ToArray();
    }

    /// <summary>
    /// This tokenizer with <paramref name="tokens"/> added after the vocabulary (ids 49408, 49409, … for CLIP), matched as
    /// whole strings in the raw text before BPE, as transformers' <c>add_tokens</c>. The receiver is unchanged, so a
    /// warm pipeline can use another set for the next render.
    /// </summary>
    public ClipTokenizer WithAddedTokens(IReadOnlyList<string> tokens) => new(this, tokens);

    /// <summary>Whether <paramref name="token"/> is a vocabulary entry or an added token.</summary>
    public bool HasToken(string token) => vocab.ContainsKey(token) || addedTokens.ContainsKey(token);

    /// <summary>The added tokens of <paramref name="text"/> in order of appearance (transformers' <c>tokenize</c> keeps them whole).</summary>
    public List<string> AddedTokensIn(string text)
    {
        var found = new List<string>();
        if (addedTokens.Count == 0) return found;
        var i = 0;
        while (i < text.Length)
        {
            var token = MatchSplitToken(text, i);
            if (token is null) { i++; continue; }
            if (addedTokens.ContainsKey(token)) found.Add(token);
            i += token.Length;
        }
        return found;
    }

    /// <summary>Loads <c>vocab.json</c>, <c>merges.txt</c> and the special tokens of a tokenizer folder.</summary>
    public static ClipTokenizer FromDirectory(string tokenizerDir)
    {
        var vocabPath = Path.Combine(tokenizerDir, "vocab.json");
        var mergesPath = Path.Combine(tokenizerDir, "merges.txt");
        if (!File.Exists(vocabPath)) throw new FileNotFoundException("tokenizer vocab.json not found", vocabPath);
        if (!File.Exists(mergesPath)) throw new FileNotFoundException("tokenizer merges.txt not found", mergesPath);

        var vocab = JsonSerializer.Deserialize<Dictionary<string, int>>(File.ReadAllBytes(vocabPath))
            ?? throw new InvalidDataException($"{vocabPath}: expected a JSON object of token → id");
        var (special, maxLength) = SpecialTokens.Read(tokenizerDir);
        var bpe = BpeTokenizer.Create(new BpeOptions(vocab)
        {
            Merges = ReadMerges(mergesPath),
            // Pieces arrive pre-tokenized (ours, which classifies code points, not UTF-16 units); the library's
            // default pre-tokenizer would split them again, e.g. "'s" into "'" and "s".
            PreTokenizer = new RegexPreTokenizer(WholePiece(), specialTokens: null),
            ByteLevel = true,
            EndOfWordSuffix = "</w>",
            UnknownToken = special.Unk,
        });
        return new ClipTokenizer(vocab, bpe, special, maxLength);
    }

    /// <summary>Exactly <see cref="MaxLength"/> ids: bos, up to 75 content tokens, eos, padding.</summary>
    public int[] Encode(string text) => EncodeDetailed(text).InputIds;

    public TokenizedPrompt EncodeDetailed(string text)
    {
        var content = EncodeWithoutPadding(text);
        var ids = new int[MaxLength];
        ids[0] = BosTokenId;
        var kept = Math.Min(content.Count, MaxContentTokens);
        for (var i = 0; i < kept; i++) ids[i + 1] = content[i];
        ids[kept + 1] = EosTokenId;
        for (var i = kept + 2; i < MaxLength; i++) ids[i] = PadTokenId;
        return new TokenizedPrompt(ids, content.Count, MaxContentTokens);
    }

    /// <summary>The content token ids, untruncated and without bos / eos / padding.</summary>
    public List<int> EncodeWithoutPadding(string text)
    {
        var ids = new List<int>();
        var pieceStart = 0;
        var i = 0;
        while (i < text.Length)
        {
            var special = MatchSplitToken(text, i);
            if (special is null) { i++; continue; }
            if (i > pieceStart) EncodeOrdinaryText(text[pieceStart..i], ids);
            ids.Add(addedTokens.TryGetValue(special, out var added) ? added : vocab[special]);
            i += special.Length;
            pieceStart = i;
        }
        if (pieceStart < text.Length) EncodeOrdinaryText(text[pieceStart..], ids);
        return ids;
    }

    /// <summary>The vocabulary string of an id (byte-level alphabet, <c>&lt;/w&gt;</c> marks word ends).</summary>
    public string TokenText(int id) =>
        id >= 0 && id < idToToken.Value.Length ? idToToken.Value[id] ?? ""
        : id >= vocab.Count && id < vocab.Count + AddedTokens.Count ? AddedTokens[id - vocab.Count] : "";

    private string? MatchSplitToken(string text, int at)
    {
        foreach (var token in splitTokens)
        {
            if (string.CompareOrdinal(text, at, token, 0, token.Length) == 0) return token;
        }
        return null;
    }

    private void EncodeOrdinaryText(string text, List<int> ids)
    {
        foreach (var word in BasicTextNormalizer.Words(text))
        {
            var i = 0;
            while (i < word.Length)
            {
                var length = PreTokenLength(word, i);
                var piece = word.Substring(i, length);
                i += length;
                if (!cache.TryGetValue(piece, out var pieceIds))
                {
                    pieceIds = Bpe(piece);
                    if (cache.Count < CacheLimit) cache.TryAdd(piece, pieceIds);
                }
                ids.AddRange(pieceIds);
            }
        }
    }

    /// <summary>
    /// The length of the next match of CLIP's pattern
    /// <c>&lt;|startoftext|&gt;|&lt;|endoftext|&gt;|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+</c>
    /// (IGNORECASE) inside a whitespace-free word. Hand-written rather than a .NET Regex because
    /// .NET classifies UTF-16 code units, so letters outside the BMP would land in the wrong class.
    /// </summary>
    internal static int PreTokenLength(string word, int at)
    {
        var rest = word.AsSpan(at);
        if (rest.StartsWith("<|startoftext|>", StringComparison.OrdinalIgnoreCase)) return "<|startoftext|>".Length;
        if (rest.StartsWith("<|endoftext|>", StringComparison.OrdinalIgnoreCase)) return "<|endoftext|>".Length;
        if (rest[0] == '\'' && rest.Length > 1)
        {
            if (rest.Length > 2 && IsContraction2(rest[1], rest[2])) return 3;
            if (FoldsTo(rest[1], 's') || FoldsTo(rest[1], 't') || FoldsTo(rest[1], 'm') || FoldsTo(rest[1], 'd')) return 2;
        }

        Rune.DecodeFromUtf16(rest, out var first, out var firstLength);
        if (Rune.IsLetter(first))
        {
            var n = firstLength;
            while (n < rest.Length && Rune.DecodeFromUtf16(rest[n..], out var r, out var len) == System.Buffers.OperationStatus.Done && Rune.IsLetter(r)) n += len;
            return n;
        }
        if (Rune.IsNumber(first)) return firstLength;

        var m = firstLength;
        while (m < rest.Length)
        {
            Rune.DecodeFromUtf16(rest[m..], out var r, out var len);
            if (Rune.IsLetter(r) || Rune.IsNumber(r) || Rune.IsWhiteSpace(r)) break;
            m += len;
        }
        return m;
    }

    private static bool IsContraction2(char a, char b) =>
        FoldsTo(a, 'r') && FoldsTo(b, 'e') || FoldsTo(a, 'v') && FoldsTo(b, 'e') || FoldsTo(a, 'l') && FoldsTo(b, 'l');

    // Simple case folding as Python's regex IGNORECASE applies it (ſ folds to s, K-sign to k).
    private static bool FoldsTo(char c, char lower) =>
        c == lower || c == char.ToUpperInvariant(lower) || lower == 's' && c == '\u017F' || lower == 'k' && c == '\u212A';

    [System.Text.RegularExpressions.GeneratedRegex(@"\S+")]
    private static partial System.Text.RegularExpressions.Regex WholePiece();

    /// <summary>One pre-token (no whitespace, no special token) through the byte-level BPE; its last symbol ends in &lt;/w&gt;.</summary>
    private int[] Bpe(string piece) => bpe.EncodeToIds(piece).ToArray();

    private int RequireId(string token, string what) =>
        vocab.TryGetValue(token, out var id)
            ? id
            : throw new InvalidDataException($"tokenizer {what} '{token}' is not in vocab.json");

    /// <summary>The merges CLIP uses, in rank order: Python's <c>read().strip().split("\n")[1 : 48895]</c> (the first line is the "#version" header).</summary>
    private static string[] ReadMerges(string path)
    {
        var lines = File.ReadAllText(path).Trim().Split('\n');
        var merges = lines.Skip(1).Take(MergeCount).Select(l => l.TrimEnd('\r')).ToArray();
        for (var i = 0; i < merges.Length; i++)
            if (merges[i].Split(' ', StringSplitOptions.RemoveEmptyEntries).Length != 2)
                throw new InvalidDataException($"{path}:{i + 2}: expected two symbols per merge");
        return merges;
    }
}

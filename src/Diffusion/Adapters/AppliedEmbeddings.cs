using Farm.Diffusion.Models;
using Farm.Diffusion.Models.Clip;
using Farm.Diffusion.Tokenization;
using Farm.Diffusion.Torch;

namespace Farm.Diffusion.Adapters;

/// <summary>One embedding of a render with the token it was asked for (null: the file stem).</summary>
internal sealed record EmbeddingActivation(TextualInversionEmbedding Embedding, string? Token = null)
{
    /// <summary>Our rule: the given token, else the file stem (not a diffusers file's key; see docs/decisions.md).</summary>
    public string ResolvedToken => string.IsNullOrEmpty(Token) ? Path.GetFileNameWithoutExtension(Embedding.Path) : Token;
}

/// <summary>
/// Textual-inversion embeddings active on one text encoder for the lifetime of this scope: a tokenizer with their
/// tokens added (ids 49408, 49409, … in the order given), the prompt rewrite for multi-vector embeddings, and the
/// vectors attached as extra token-embedding rows. Disposing detaches the rows; the base tokenizer and table are
/// never changed.
/// </summary>
internal sealed class AppliedEmbeddings : IDisposable
{
    private readonly CLIPTextEmbeddings? target;
    private readonly Tensor? rows;

    private AppliedEmbeddings(ClipTokenizer tokenizer, CLIPTextEmbeddings? target, Tensor? rows)
    {
        Tokenizer = tokenizer;
        this.target = target;
        this.rows = rows;
    }

    /// <summary>The tokenizer to encode this render's prompts with (the base one when no embedding is active).</summary>
    public ClipTokenizer Tokenizer { get; }

    /// <summary>diffusers' <c>maybe_convert_prompt</c> with this scope's tokens.</summary>
    public string ConvertPrompt(string prompt) => PromptConversion.Convert(prompt, Tokenizer);

    /// <summary>The padded ids of a prompt (positive or negative) after the rewrite.</summary>
    public int[] Encode(string prompt) => Tokenizer.Encode(ConvertPrompt(prompt));

    /// <summary><see cref="Encode"/> with the untruncated token count (to warn that a prompt was cut).</summary>
    public TokenizedPrompt EncodeDetailed(string prompt) => Tokenizer.EncodeDetailed(ConvertPrompt(prompt));

    public static AppliedEmbeddings Apply(IReadOnlyList<EmbeddingActivation> embeddings, Module textEncoder, ClipTokenizer tokenizer)
    {
        if (embeddings.Count == 0) return new AppliedEmbeddings(tokenizer, null, null);
        var target = textEncoder.NamedModules().Select(m => m.Module).OfType<CLIPTextEmbeddings>().SingleOrDefault()
            ?? throw new ArgumentException($"{textEncoder.GetType().Name} has no CLIP token embedding for textual inversion");
        var tokens = new List<string>();
        var values = new List<float>();
        foreach (var activation in embeddings)
        {
            var e = activation.Embedding;
            if (e.Width != target.HiddenSize)
                throw new InvalidDataException(
                    $"{e.Path}: embedding vectors are {e.Width} wide but the text encoder's hidden size is {target.HiddenSize} (an embedding for another model family?)");
            var token = activation.ResolvedToken;
            foreach (var t in e.Tokens(token))
            {
                if (tokenizer.HasToken(t) || tokens.Contains(t))
                    throw new InvalidDataException($"{e.Path}: token '{t}' is already {(tokens.Contains(t) ? "used by another embedding of this render" : "in the tokenizer's vocabulary")}; give the embedding another token");
                tokens.Add(t);
            }
            values.AddRange(e.Vectors);
        }
        if (tokenizer.VocabularySize != target.VocabularySize)
            throw new InvalidOperationException($"tokenizer vocabulary ({tokenizer.VocabularySize}) and text encoder token table ({target.VocabularySize}) differ");

        var added = tokenizer.WithAddedTokens(tokens);
        var reference = target.NamedParameters().First().Parameter.Value;
        using var cpu = torch.tensor(values.ToArray(), tokens.Count, target.HiddenSize);
        var rows = cpu.to(reference.dtype, reference.device).DetachFromDisposeScope();
        try
        {
            target.AttachExtraTokenRows(rows);
        }
        catch
        {
            rows.Dispose();
            throw;
        }
        return new AppliedEmbeddings(added, target, rows);
    }

    public void Dispose()
    {
        if (rows is null) return;
        target?.DetachExtraTokenRows(rows);
        rows.Dispose();
    }
}

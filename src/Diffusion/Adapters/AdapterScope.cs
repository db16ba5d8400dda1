using Farm.Diffusion.Imaging;
using Farm.Diffusion.Tokenization;

namespace Farm.Diffusion.Adapters;

/// <summary>
/// Everything a render's adapters change, for the duration of the render: LoRA branches on the UNet and text-encoder
/// layers, and per text encoder the textual-inversion tokens (tokenizer, prompt rewrite, extra embedding rows).
/// The prompt encoder tokenizes with <see cref="Encode"/> (or <see cref="Tokenizer"/> + <see cref="ConvertPrompt"/>)
/// and runs the text encoder as usual; disposing restores the models exactly.
/// </summary>
internal sealed class AdapterScope : IDisposable
{
    private readonly AppliedLoras loras;
    private readonly IReadOnlyList<AppliedEmbeddings> embeddings;

    public AdapterScope(AppliedLoras loras, IReadOnlyList<AppliedEmbeddings> embeddings,
        IReadOnlyList<LoraMetadata> loraRecords, IReadOnlyList<EmbeddingMetadata> embeddingRecords)
    {
        this.loras = loras;
        this.embeddings = embeddings;
        LoraRecords = loraRecords;
        EmbeddingRecords = embeddingRecords;
    }

    /// <summary>The LoRAs of this render as its image metadata records them.</summary>
    public IReadOnlyList<LoraMetadata> LoraRecords { get; }

    /// <summary>The embeddings of this render as its image metadata records them.</summary>
    public IReadOnlyList<EmbeddingMetadata> EmbeddingRecords { get; }

    /// <summary>LoRA layer branches attached (0 without LoRAs).</summary>
    public int LoraLayerCount => loras.Count;

    /// <summary>The tokenizer of text encoder <paramref name="encoder"/> with this render's added tokens.</summary>
    public ClipTokenizer Tokenizer(int encoder = 0) => embeddings[encoder].Tokenizer;

    /// <summary>diffusers' <c>maybe_convert_prompt</c> for text encoder <paramref name="encoder"/> (positive and negative prompts alike).</summary>
    public string ConvertPrompt(string prompt, int encoder = 0) => embeddings[encoder].ConvertPrompt(prompt);

    /// <summary>The padded input ids of a prompt for text encoder <paramref name="encoder"/>, after the rewrite.</summary>
    public int[] Encode(string prompt, int encoder = 0) => embeddings[encoder].Encode(prompt);

    /// <summary><see cref="Encode"/> with the untruncated token count (a multi-vector token costs n positions).</summary>
    public TokenizedPrompt EncodeDetailed(string prompt, int encoder = 0) => embeddings[encoder].EncodeDetailed(prompt);

    public void Dispose()
    {
        foreach (var e in embeddings) e.Dispose();
        loras.Dispose();
    }
}

using Farm.Diffusion.Models.Layers;
using Farm.Diffusion.Torch;
using F = Farm.Diffusion.Torch.torch.nn.functional;

namespace Farm.Diffusion.Models.Clip;

/// <summary>
/// Token embedding plus learned absolute position embedding (position ids 0..L−1). Textual-inversion vectors are
/// extra rows consulted for ids ≥ the vocabulary size, attached for a render and detached after, so the base table is
/// never resized or written and the set can change between renders.
/// </summary>
internal sealed class CLIPTextEmbeddings : Module
{
    private readonly Embedding tokenEmbedding;
    private readonly Embedding positionEmbedding;
    private Tensor? extraRows;

    public CLIPTextEmbeddings(CLIPTextConfig config)
    {
        VocabularySize = config.VocabSize;
        HiddenSize = config.HiddenSize;
        tokenEmbedding = Child("token_embedding", new Embedding(config.VocabSize, config.HiddenSize));
        positionEmbedding = Child("position_embedding", new Embedding(config.MaxPositionEmbeddings, config.HiddenSize));
    }

    /// <summary>Rows of the base token table; extra rows take the ids from here on.</summary>
    public long VocabularySize { get; }

    public long HiddenSize { get; }

    /// <summary>
    /// Makes ids <see cref="VocabularySize"/> … + n−1 look up <paramref name="rows"/> [n, H] (same dtype and device as the
    /// model; owned by the caller, who must keep it alive until <see cref="DetachExtraTokenRows"/>).
    /// </summary>
    public void AttachExtraTokenRows(Tensor rows)
    {
        if (extraRows is not null) throw new InvalidOperationException("extra token rows are already attached to this text encoder");
        if (rows.dim() != 2 || rows.size(1) != HiddenSize)
            throw new ArgumentException($"extra token rows must be [n, {HiddenSize}], got [{Shapes.Format(rows.shape)}]");
        extraRows = rows;
    }

    public void DetachExtraTokenRows(Tensor rows)
    {
        if (ReferenceEquals(extraRows, rows)) extraRows = null;
    }

    public Tensor TokenEmbedding(Tensor inputIds)
    {
        if (extraRows is null) return tokenEmbedding.Forward(inputIds);
        return TokenEmbeddingWithExtraRows(inputIds, extraRows);
    }

    /// <summary>Each position takes its row from the base table or from the extra rows: a row copy, bit-exact either way.</summary>
    private Tensor TokenEmbeddingWithExtraRows(Tensor inputIds, Tensor rows)
    {
        using var scope = torch.NewDisposeScope();
        using var cpuIds = inputIds.to(ScalarType.Int64, Device.Cpu);
        var ids = cpuIds.ToArray<long>();
        var extraCount = rows.size(0);
        var baseIds = new long[ids.Length];
        var extraIds = new long[ids.Length];
        var isExtra = new byte[ids.Length];
        for (var i = 0; i < ids.Length; i++)
        {
            var id = ids[i];
            if (id < 0 || id >= VocabularySize + extraCount)
                throw new ArgumentOutOfRangeException(nameof(inputIds), id, $"token id outside the {VocabularySize} vocabulary rows and {extraCount} added rows");
            if (id < VocabularySize) baseIds[i] = id;
            else { extraIds[i] = id - VocabularySize; isExtra[i] = 1; }
        }
        var device = rows.device;
        var shape = inputIds.shape;
        var fromBase = tokenEmbedding.Forward(torch.tensor(baseIds, shape).to(device));
        var fromExtra = F.embedding(torch.tensor(extraIds, shape).to(device), rows);
        var mask = torch.tensor(isExtra, [.. shape, 1]).gt(0).to(device);
        return scope.MoveToOuter(torch.where(mask, fromExtra, fromBase));
    }

    /// <summary>inputs_embeds [B, L, H] + position_embedding(arange(L)) (broadcast over the batch, as transformers).</summary>
    public Tensor Forward(Tensor inputsEmbeds)
    {
        using var scope = torch.NewDisposeScope();
        var length = inputsEmbeds.size(1);
        var positionIds = torch.arange(0, length, 1, ScalarType.Int64).unsqueeze(0);
        var positions = positionEmbedding.Forward(positionIds);
        return scope.MoveToOuter(inputsEmbeds + positions);
    }
}

using Farm.Diffusion.Models.Layers;
using Farm.Diffusion.Torch;

namespace Farm.Diffusion.Models.Clip;

/// <summary>Token embedding plus learned absolute position embedding (position ids 0..L−1).</summary>
internal sealed class CLIPTextEmbeddings : Module
{
    private readonly Embedding tokenEmbedding;
    private readonly Embedding positionEmbedding;

    public CLIPTextEmbeddings(CLIPTextConfig config)
    {
        tokenEmbedding = Child("token_embedding", new Embedding(config.VocabSize, config.HiddenSize));
        positionEmbedding = Child("position_embedding", new Embedding(config.MaxPositionEmbeddings, config.HiddenSize));
    }

    public Tensor TokenEmbedding(Tensor inputIds) => tokenEmbedding.Forward(inputIds);

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

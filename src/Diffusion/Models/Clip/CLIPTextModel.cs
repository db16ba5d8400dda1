using Farm.Diffusion.Torch;
using Farm.Diffusion.Weights;

namespace Farm.Diffusion.Models.Clip;

/// <summary>
/// transformers' CLIPTextModel as Stable Diffusion 1.x/2.x uses it. Keys: <c>text_model.embeddings.*</c>,
/// <c>text_model.encoder.layers.N.*</c>, <c>text_model.final_layer_norm.*</c>. No attention mask is applied
/// (the SD pipeline passes none; padding tokens are attended), only the causal mask.
/// </summary>
internal sealed class CLIPTextModel : Module
{
    // transformers before 4.31 saved the position-id buffer; it is arange(L) and is recomputed.
    internal const string LegacyPositionIdsKey = "text_model.embeddings.position_ids";

    private readonly CLIPTextTransformer textModel;

    public CLIPTextModel(CLIPTextConfig config)
    {
        Config = config;
        textModel = Child("text_model", new CLIPTextTransformer(config));
    }

    public CLIPTextConfig Config { get; }

    /// <summary>Builds and loads the <c>text_encoder</c> component found by <see cref="ModelIndex"/>.</summary>
    public static CLIPTextModel FromPretrained(ModelComponent component, ScalarType dtype, Device device) =>
        FromPretrained(component.Directory, component.WeightsPath ?? throw new ArgumentException($"{component.Name} has no weights file"), dtype, device);

    /// <summary>Builds the model from <c>config.json</c> in <paramref name="componentDir"/> and loads <paramref name="weightsPath"/>.</summary>
    public static CLIPTextModel FromPretrained(string componentDir, string weightsPath, ScalarType dtype, Device device)
    {
        var model = new CLIPTextModel(CLIPTextConfig.FromFile(Path.Combine(componentDir, "config.json")));
        try
        {
            using var weights = SafetensorsWeights.Open(weightsPath);
            model.LoadWeights(weights, dtype, device);
            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>Strict loading that tolerates (only) the legacy <c>position_ids</c> buffer.</summary>
    public void LoadWeights(IWeightSource source, ScalarType dtype, Device device) =>
        Load(new IgnoringKeys(source, LegacyPositionIdsKey), dtype, device);

    /// <summary>token_embedding(input_ids): [B, L] int64 → [B, L, H]. For embedding surgery before <see cref="ForwardEmbeds"/>.</summary>
    public Tensor TokenEmbedding(Tensor inputIds) => textModel.TokenEmbedding(inputIds);

    /// <summary>The model on token ids [B, L] (int64), with <c>pooler_output</c>.</summary>
    public CLIPTextModelOutput Forward(Tensor inputIds, int clipSkip = 0, bool outputHiddenStates = false)
    {
        using var scope = torch.NewDisposeScope();
        var (last, states) = textModel.Forward(textModel.TokenEmbedding(inputIds), clipSkip, outputHiddenStates);
        var pooled = CLIPPooling.Pool(Config, last, inputIds);
        return CLIPTextModelOutput.Leave(scope, last, pooled, states);
    }

    /// <summary>
    /// The model on token embeddings [B, L, H] (what <see cref="TokenEmbedding"/> returns, possibly edited):
    /// position embeddings are added here. No pooler output (it needs the ids).
    /// </summary>
    public CLIPTextModelOutput ForwardEmbeds(Tensor inputsEmbeds, int clipSkip = 0, bool outputHiddenStates = false)
    {
        using var scope = torch.NewDisposeScope();
        var (last, states) = textModel.Forward(inputsEmbeds, clipSkip, outputHiddenStates);
        return CLIPTextModelOutput.Leave(scope, last, null, states);
    }

    internal sealed class IgnoringKeys(IWeightSource inner, string ignored) : IWeightSource
    {
        public string Description => inner.Description;

        public IEnumerable<string> Keys => inner.Keys.Where(k => k != ignored);

        public bool Contains(string key) => key != ignored && inner.Contains(key);

        public long[] Shape(string key) => inner.Shape(key);

        public Tensor Load(string key, ScalarType dtype, Device device) => inner.Load(key, dtype, device);
    }
}

using Farm.Diffusion.Models.Layers;
using Farm.Diffusion.Torch;
using Farm.Diffusion.Weights;

namespace Farm.Diffusion.Models.Clip;

/// <summary>
/// transformers' CLIPTextModelWithProjection (SDXL's text_encoder_2): the CLIP text transformer plus a bias-free
/// <c>text_projection</c> of the pooled output. Keys: <c>text_model.*</c>, <c>text_projection.weight</c>.
/// No attention mask, only the causal one (as the SDXL pipeline calls it).
/// </summary>
internal sealed class CLIPTextModelWithProjection : Module
{
    private readonly CLIPTextTransformer textModel;
    private readonly Linear textProjection;

    public CLIPTextModelWithProjection(CLIPTextConfig config)
    {
        Config = config;
        textModel = Child("text_model", new CLIPTextTransformer(config));
        textProjection = Child("text_projection", new Linear(config.HiddenSize, config.ProjectionDim, hasBias: false));
    }

    public CLIPTextConfig Config { get; }

    /// <summary>Builds and loads the <c>text_encoder_2</c> component found by <see cref="ModelIndex"/>.</summary>
    public static CLIPTextModelWithProjection FromPretrained(ModelComponent component, ScalarType dtype, Device device)
    {
        var model = new CLIPTextModelWithProjection(CLIPTextConfig.FromFile(component.ConfigPath ?? Path.Combine(component.Directory, "config.json")));
        try
        {
            using var weights = SafetensorsWeights.Open(component.WeightsPath ?? throw new ArgumentException($"{component.Name} has no weights file"));
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
        Load(new CLIPTextModel.IgnoringKeys(source, CLIPTextModel.LegacyPositionIdsKey), dtype, device);

    /// <summary>
    /// The model on token ids [B, L] (int64). <see cref="CLIPTextModelWithProjectionOutput.TextEmbeds"/> is
    /// <c>text_projection(final_layer_norm(last layer)[eos row])</c>; the hidden states are all given.
    /// </summary>
    public CLIPTextModelWithProjectionOutput Forward(Tensor inputIds)
    {
        using var scope = torch.NewDisposeScope();
        var (last, states) = textModel.Forward(textModel.TokenEmbedding(inputIds), clipSkip: 0, outputHiddenStates: true);
        var textEmbeds = textProjection.Forward(CLIPPooling.Pool(Config, last, inputIds));
        return CLIPTextModelWithProjectionOutput.Leave(scope, textEmbeds, last, states!);
    }
}

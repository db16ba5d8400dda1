using Farm.Diffusion.Models.Clip;
using Farm.Diffusion.Tokenization;
using Farm.Diffusion.Torch;

namespace Farm.Diffusion.Pipelines.Prompts;

/// <summary>
/// StableDiffusionPipeline's <c>encode_prompt</c> (SD1.x / SD2.x): one CLIP text encoder's last_hidden_state.
/// A null negative prompt encodes "" as diffusers does. <c>clip_skip</c> k applies to the positive prompt only,
/// <c>final_layer_norm(hidden_states[-(k+1)])</c>; the negative branch ignores it, as in diffusers.
/// </summary>
internal sealed class ClipPromptEncoder(ClipTokenizer tokenizer, CLIPTextModel textEncoder, Device device) : IPromptEncoder
{
    public PromptConditioning Encode(PromptInputs inputs)
    {
        using var scope = torch.NewDisposeScope();
        var embeds = Encode(inputs.Prompts, inputs.ClipSkip);
        if (inputs.Guided)
        {
            var negative = Encode(Enumerable.Repeat(inputs.NegativePrompt ?? "", inputs.Prompts.Count).ToList(), clipSkip: 0);
            embeds = torch.cat([negative, embeds], 0);
        }
        return new PromptConditioning(scope.MoveToOuter(embeds), null);
    }

    private Tensor Encode(IReadOnlyList<string> texts, int clipSkip)
    {
        using var scope = torch.NewDisposeScope();
        var ids = texts.SelectMany(t => tokenizer.Encode(t).Select(id => (long)id)).ToArray();
        var input = torch.tensor(ids, texts.Count, tokenizer.MaxLength).to(device);
        var output = textEncoder.Forward(input, clipSkip);
        return scope.MoveToOuter(output.LastHiddenState);
    }

    public void Dispose() => textEncoder.Dispose();
}

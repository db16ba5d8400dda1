using Farm.Diffusion.Adapters;
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
        var embeds = Encode(inputs.Prompts, inputs.ClipSkip, inputs.Tokenize);
        if (inputs.Guided)
        {
            var negative = Encode(Enumerable.Repeat(inputs.NegativePrompt ?? "", inputs.Prompts.Count).ToList(), clipSkip: 0, inputs.Tokenize);
            embeds = torch.cat([negative, embeds], 0);
        }
        return new PromptConditioning(scope.MoveToOuter(embeds), null);
    }

    public IReadOnlyList<TextEncoderTarget> TextEncoders => [new(textEncoder, tokenizer)];

    private Tensor Encode(IReadOnlyList<string> texts, int clipSkip, Func<string, int, int[]>? tokenize)
    {
        using var scope = torch.NewDisposeScope();
        var ids = texts.SelectMany(t => (tokenize?.Invoke(t, 0) ?? tokenizer.Encode(t)).Select(id => (long)id)).ToArray();
        var input = torch.tensor(ids, texts.Count, tokenizer.MaxLength).to(device);
        var output = textEncoder.Forward(input, clipSkip);
        return scope.MoveToOuter(output.LastHiddenState);
    }

    public void Dispose() => textEncoder.Dispose();
}

using Farm.Diffusion.Adapters;
using Farm.Diffusion.Models.Clip;
using Farm.Diffusion.Models.Unet;
using Farm.Diffusion.Tokenization;
using Farm.Diffusion.Torch;

namespace Farm.Diffusion.Pipelines.Prompts;

/// <summary>
/// StableDiffusionXLPipeline's <c>encode_prompt</c> and <c>_get_add_time_ids</c>: the penultimate hidden states of
/// both encoders concatenated (no final_layer_norm), the pooled projected embedding of text_encoder_2, and the size
/// ids <c>[h, w, 0, 0, h, w]</c> (original = target = the render size, no crop). Python's <c>or</c> defaults are kept:
/// an empty or null prompt_2 / negative_prompt_2 falls back to the first one. With guidance and no negative prompt,
/// <c>force_zeros_for_empty_prompt</c> makes the uncond embeddings zeros instead of the encoding of "".
/// </summary>
internal sealed class SdxlPromptEncoder(
    ClipTokenizer tokenizer, CLIPTextModel textEncoder, ClipTokenizer tokenizer2, CLIPTextModelWithProjection textEncoder2,
    bool forceZerosForEmptyPrompt, Device device) : IPromptEncoder
{
    public PromptConditioning Encode(PromptInputs inputs)
    {
        if (inputs.Height <= 0 || inputs.Width <= 0)
            throw new ArgumentException($"SDXL conditioning needs the render size (got {inputs.Width}x{inputs.Height})", nameof(inputs));
        using var scope = torch.NewDisposeScope();
        var count = inputs.Prompts.Count;
        var prompts2 = string.IsNullOrEmpty(inputs.Prompt2) ? inputs.Prompts : Enumerable.Repeat(inputs.Prompt2, count).ToList();
        var (embeds, pooled) = Encode(inputs.Prompts, prompts2, inputs.ClipSkip, inputs.Tokenize);
        var rows = count;
        if (inputs.Guided)
        {
            Tensor negativeEmbeds, negativePooled;
            if (inputs.NegativePrompt is null && forceZerosForEmptyPrompt)
            {
                negativeEmbeds = torch.zeros(embeds.shape, embeds.dtype, embeds.device);
                negativePooled = torch.zeros(pooled.shape, pooled.dtype, pooled.device);
            }
            else
            {
                var negative = inputs.NegativePrompt ?? "";
                var negative2 = string.IsNullOrEmpty(inputs.NegativePrompt2) ? negative : inputs.NegativePrompt2;
                (negativeEmbeds, negativePooled) = Encode(Enumerable.Repeat(negative, count).ToList(), Enumerable.Repeat(negative2, count).ToList(), clipSkip: 0, inputs.Tokenize);
            }
            embeds = torch.cat([negativeEmbeds, embeds], 0);
            pooled = torch.cat([negativePooled, pooled], 0);
            rows *= 2;
        }
        var timeIds = TimeIds(inputs.Height, inputs.Width, rows).to(device);
        return new PromptConditioning(scope.MoveToOuter(embeds), new AddedConditions(scope.MoveToOuter(pooled), scope.MoveToOuter(timeIds)));
    }

    /// <summary>One encoder pass per tokenizer: <c>cat([te1.hidden_states[-(k+2)], te2.hidden_states[-(k+2)]], -1)</c> and te2's text_embeds.</summary>
    public IReadOnlyList<TextEncoderTarget> TextEncoders => [new(textEncoder, tokenizer), new(textEncoder2, tokenizer2)];

    private (Tensor Embeds, Tensor Pooled) Encode(IReadOnlyList<string> prompts, IReadOnlyList<string> prompts2, int clipSkip, Func<string, int, int[]>? tokenize)
    {
        using var scope = torch.NewDisposeScope();
        using var first = textEncoder.Forward(Ids(tokenizer, 0, prompts, tokenize), outputHiddenStates: true);
        using var second = textEncoder2.Forward(Ids(tokenizer2, 1, prompts2, tokenize));
        var embeds = torch.cat([Penultimate(first.HiddenStates!, clipSkip), Penultimate(second.HiddenStates, clipSkip)], -1);
        var pooled = second.TextEmbeds.clone();
        return (scope.MoveToOuter(embeds), scope.MoveToOuter(pooled));
    }

    private static Tensor Penultimate(IReadOnlyList<Tensor> hiddenStates, int clipSkip)
    {
        // hidden_states[0] is the embeddings output, so with L layers the deepest skip is L - 1 (the first layer's output).
        if (clipSkip < 0 || clipSkip + 2 > hiddenStates.Count)
            throw new ArgumentOutOfRangeException(nameof(clipSkip), clipSkip, $"clip skip must be between 0 and {hiddenStates.Count - 2} for this model");
        return hiddenStates[hiddenStates.Count - (clipSkip + 2)];
    }

    private Tensor Ids(ClipTokenizer t, int encoder, IReadOnlyList<string> texts, Func<string, int, int[]>? tokenize)
    {
        using var scope = torch.NewDisposeScope();
        var ids = texts.SelectMany(text => (tokenize?.Invoke(text, encoder) ?? t.Encode(text)).Select(id => (long)id)).ToArray();
        return scope.MoveToOuter(torch.tensor(ids, texts.Count, t.MaxLength).to(device));
    }

    /// <summary><c>list(original_size + crops_coords_top_left + target_size)</c> as float32, one row per UNet batch row.</summary>
    private static Tensor TimeIds(int height, int width, int rows)
    {
        float[] row = [height, width, 0, 0, height, width];
        var data = Enumerable.Range(0, rows).SelectMany(_ => row).ToArray();
        return torch.tensor(data, rows, row.Length);
    }

    public void Dispose()
    {
        textEncoder.Dispose();
        textEncoder2.Dispose();
    }
}

namespace Farm.Diffusion.Pipelines.Prompts;

/// <summary>
/// What a prompt encoder needs for one render: one prompt per image, diffusers' <c>negative_prompt</c> (null = not
/// given), the SDXL second-encoder prompts (null = the first ones), whether guidance runs (CFG batch, uncond first),
/// diffusers' <c>clip_skip</c>, the render size in pixels (SDXL's size micro-conditioning), and, when textual-inversion
/// embeddings are active, the tokenization (text, encoder index) → 77 ids that knows their tokens.
/// </summary>
internal sealed record PromptInputs(
    IReadOnlyList<string> Prompts,
    string? NegativePrompt,
    bool Guided,
    int ClipSkip = 0,
    string? Prompt2 = null,
    string? NegativePrompt2 = null,
    int Height = 0,
    int Width = 0,
    Func<string, int, int[]>? Tokenize = null);

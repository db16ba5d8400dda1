namespace Farm.Diffusion.Tokenization;

/// <summary>
/// The model input for one prompt plus what was lost: <see cref="ContentTokenCount"/> counts the
/// BPE tokens before truncation, so a CLI can warn that a prompt was cut.
/// </summary>
internal sealed record TokenizedPrompt(int[] InputIds, int ContentTokenCount, int MaxContentTokens)
{
    public bool Truncated => ContentTokenCount > MaxContentTokens;
}

using Farm.Diffusion.Tokenization;

namespace Farm.Diffusion.Adapters;

/// <summary>
/// diffusers' <c>maybe_convert_prompt</c>: every added token of a multi-vector embedding that appears in the prompt is
/// replaced (a plain string replace, as diffusers does) by <c>tok tok_1 … tok_{n−1}</c>, so the text encoder sees all
/// n vectors. Applied to the positive and the negative prompt before tokenizing.
/// </summary>
internal static class PromptConversion
{
    public static string Convert(string prompt, ClipTokenizer tokenizer)
    {
        foreach (var token in tokenizer.AddedTokensIn(prompt).Distinct(StringComparer.Ordinal).ToList())
        {
            var replacement = token;
            for (var i = 1; tokenizer.AddedTokens.Contains($"{token}_{i}"); i++) replacement += $" {token}_{i}";
            prompt = prompt.Replace(token, replacement, StringComparison.Ordinal);
        }
        return prompt;
    }
}

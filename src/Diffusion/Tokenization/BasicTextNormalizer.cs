using System.Globalization;
using System.Text;

namespace Farm.Diffusion.Tokenization;

/// <summary>
/// The text clean-up of transformers' BERT <c>BasicTokenizer(do_lower_case=True,
/// strip_accents=False, do_split_on_punc=False)</c>, which the slow CLIPTokenizer uses when ftfy is
/// not installed: drop control characters, map whitespace to spaces, space out CJK ideographs,
/// NFC-normalise, split on whitespace and lowercase each word the way Python's <c>str.lower</c> does.
/// </summary>
internal static class BasicTextNormalizer
{
    /// <summary>Returns the lowercased words of <paramref name="text"/> (no empty entries).</summary>
    public static List<string> Words(string text)
    {
        var cleaned = new StringBuilder(text.Length + 8);
        foreach (var rune in text.EnumerateRunes())
        {
            var cp = rune.Value;
            // Invalid UTF-16 enumerates as U+FFFD, which BasicTokenizer drops too.
            if (cp == 0 || cp == 0xFFFD || IsControl(rune)) continue;
            if (IsWhitespace(rune)) { cleaned.Append(' '); continue; }
            if (IsCjkIdeograph(cp))
            {
                cleaned.Append(' ').Append(rune.ToString()).Append(' ');
                continue;
            }
            AppendRune(cleaned, rune);
        }

        var normalized = UnicodeNfc.Normalize(cleaned.ToString());
        var words = new List<string>();
        var start = -1;
        for (var i = 0; i <= normalized.Length; i++)
        {
            // Python's str.split(); after cleaning only ' ', U+2028 and U+2029 can remain.
            var split = i == normalized.Length || char.IsWhiteSpace(normalized[i]);
            if (split)
            {
                if (start >= 0) words.Add(PythonLower(normalized.AsSpan(start, i - start)));
                start = -1;
            }
            else if (start < 0)
            {
                start = i;
            }
        }
        return words;
    }

    private static void AppendRune(StringBuilder sb, Rune rune)
    {
        if (rune.IsBmp) sb.Append((char)rune.Value);
        else sb.Append(rune.ToString());
    }

    // transformers' _is_control: every "C*" category except \t \n \r (which are whitespace).
    private static bool IsControl(Rune rune)
    {
        var cp = rune.Value;
        if (cp is '\t' or '\n' or '\r') return false;
        return Rune.GetUnicodeCategory(rune) is UnicodeCategory.Control or UnicodeCategory.Format
            or UnicodeCategory.Surrogate or UnicodeCategory.PrivateUse or UnicodeCategory.OtherNotAssigned;
    }

    private static bool IsWhitespace(Rune rune) =>
        rune.Value is ' ' or '\t' or '\n' or '\r'
        || Rune.GetUnicodeCategory(rune) == UnicodeCategory.SpaceSeparator;

    // The code blocks BERT's _is_chinese_char treats as CJK (not Hangul, Hiragana or Katakana).
    private static bool IsCjkIdeograph(int cp) =>
        cp is >= 0x4E00 and <= 0x9FFF
            or >= 0x3400 and <= 0x4DBF
            or >= 0x20000 and <= 0x2A6DF
            or >= 0x2A700 and <= 0x2B73F
            or >= 0x2B740 and <= 0x2B81F
            or >= 0x2B820 and <= 0x2CEAF
            or >= 0xF900 and <= 0xFAFF
            or >= 0x2F800 and <= 0x2FA1F;

    /// <summary>
    /// Python's full lowercase mapping. .NET's invariant simple mapping differs in two places that
    /// matter: U+0130 (İ → "i̇", two code points) and the context-dependent final sigma.
    /// </summary>
    internal static string PythonLower(ReadOnlySpan<char> word)
    {
        var sb = new StringBuilder(word.Length);
        var runes = new List<Rune>(word.Length);
        foreach (var r in word.EnumerateRunes()) runes.Add(r);
        for (var i = 0; i < runes.Count; i++)
        {
            var r = runes[i];
            if (r.Value == 0x130) sb.Append("i\u0307");
            else if (r.Value == 0x3A3) sb.Append(IsFinalSigma(runes, i) ? '\u03C2' : '\u03C3');
            else AppendRune(sb, Rune.ToLowerInvariant(r));
        }
        return sb.ToString();
    }

    // CPython's handle_capital_sigma: preceded by a cased letter and not followed by one,
    // skipping case-ignorable characters in both directions.
    private static bool IsFinalSigma(List<Rune> runes, int i)
    {
        var j = i - 1;
        while (j >= 0 && IsCaseIgnorable(runes[j])) j--;
        if (j < 0 || !IsCased(runes[j])) return false;
        j = i + 1;
        while (j < runes.Count && IsCaseIgnorable(runes[j])) j++;
        return j == runes.Count || !IsCased(runes[j]);
    }

    private static bool IsCased(Rune r) => Rune.GetUnicodeCategory(r) is UnicodeCategory.UppercaseLetter
        or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter;

    private static bool IsCaseIgnorable(Rune r) =>
        r.Value is '\'' or '.' or ':' or 0xB7 or 0x387 or 0x2018 or 0x2019 or 0x2024 or 0xFE52 or 0xFF07 or 0xFF0E
        || Rune.GetUnicodeCategory(r) is UnicodeCategory.NonSpacingMark or UnicodeCategory.EnclosingMark
            or UnicodeCategory.Format or UnicodeCategory.ModifierLetter or UnicodeCategory.ModifierSymbol;
}

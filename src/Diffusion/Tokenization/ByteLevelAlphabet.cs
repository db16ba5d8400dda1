namespace Farm.Diffusion.Tokenization;

/// <summary>
/// GPT-2's <c>bytes_to_unicode</c>: every UTF-8 byte maps to one printable BMP character, so BPE
/// can run on strings. Printable Latin-1 bytes map to themselves, the rest to U+0100 onwards.
/// </summary>
internal static class ByteLevelAlphabet
{
    public static readonly char[] ByteToChar = Build();

    private static char[] Build()
    {
        var map = new char[256];
        var assigned = new bool[256];
        for (var b = '!'; b <= '~'; b++) { map[b] = b; assigned[b] = true; }
        for (var b = '¡'; b <= '¬'; b++) { map[b] = b; assigned[b] = true; }
        for (var b = '®'; b <= 'ÿ'; b++) { map[b] = b; assigned[b] = true; }
        var next = 256;
        for (var b = 0; b < 256; b++)
        {
            if (!assigned[b]) map[b] = (char)next++;
        }
        return map;
    }
}

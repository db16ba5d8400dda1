using System.Text;

namespace Farm.Diffusion.Tokenization;

/// <summary>
/// Unicode NFC normalisation from our own tables. Needed because the build runs with
/// InvariantGlobalization, where <see cref="string.Normalize()"/> silently returns its input,
/// and because the tokenizer must match Python's <c>unicodedata</c> (Unicode 14) exactly.
/// </summary>
internal static partial class UnicodeNfc
{
    private const int SBase = 0xAC00, LBase = 0x1100, VBase = 0x1161, TBase = 0x11A7;
    private const int LCount = 19, VCount = 21, TCount = 28, NCount = VCount * TCount, SCount = LCount * NCount;

    private static readonly Dictionary<int, (int First, int Second)> decompositions = BuildDecompositions();
    private static readonly Dictionary<long, int> compositions = BuildCompositions();

    public static string Normalize(string text)
    {
        // Below U+0300 every character is already NFC and nothing can combine with it.
        var needsWork = false;
        foreach (var c in text)
        {
            if (c >= '\u0300') { needsWork = true; break; }
        }
        if (!needsWork) return text;

        var buffer = new List<int>(text.Length + 8);
        foreach (var rune in text.EnumerateRunes()) Decompose(rune.Value, buffer);
        SortCombiningMarks(buffer);
        Compose(buffer);

        var sb = new StringBuilder(buffer.Count);
        foreach (var cp in buffer) sb.Append(char.ConvertFromUtf32(cp));
        return sb.ToString();
    }

    internal static int CombiningClass(int cp)
    {
        if (cp < 0x300) return 0;
        int lo = 0, hi = CombiningClassData.Length / 3 - 1;
        while (lo <= hi)
        {
            var mid = (lo + hi) >> 1;
            if (cp < CombiningClassData[mid * 3]) hi = mid - 1;
            else if (cp > CombiningClassData[mid * 3 + 1]) lo = mid + 1;
            else return CombiningClassData[mid * 3 + 2];
        }
        return 0;
    }

    private static void Decompose(int cp, List<int> output)
    {
        var s = cp - SBase;
        if (s >= 0 && s < SCount)
        {
            output.Add(LBase + s / NCount);
            output.Add(VBase + s % NCount / TCount);
            if (s % TCount != 0) output.Add(TBase + s % TCount);
            return;
        }
        if (decompositions.TryGetValue(cp, out var d))
        {
            Decompose(d.First, output);
            if (d.Second != 0) Decompose(d.Second, output);
            return;
        }
        output.Add(cp);
    }

    private static void SortCombiningMarks(List<int> cps)
    {
        // Insertion sort by class within each run of non-starters (stable, runs are short).
        for (var i = 1; i < cps.Count; i++)
        {
            var cc = CombiningClass(cps[i]);
            if (cc == 0) continue;
            var j = i;
            while (j > 0)
            {
                var prev = CombiningClass(cps[j - 1]);
                if (prev == 0 || prev <= cc) break;
                (cps[j - 1], cps[j]) = (cps[j], cps[j - 1]);
                j--;
            }
        }
    }

    private static void Compose(List<int> cps)
    {
        if (cps.Count < 2) return;
        var starter = CombiningClass(cps[0]) == 0 ? 0 : -1;
        var lastClass = starter == 0 ? 0 : 256;
        var write = 1;
        for (var read = 1; read < cps.Count; read++)
        {
            var cp = cps[read];
            var cc = CombiningClass(cp);
            if (starter >= 0 && (lastClass < cc || lastClass == 0 && write - 1 == starter)
                && TryCompose(cps[starter], cp, out var composite))
            {
                cps[starter] = composite;
                continue;
            }
            if (cc == 0)
            {
                starter = write;
                lastClass = 0;
            }
            else
            {
                lastClass = cc;
            }
            cps[write++] = cp;
        }
        cps.RemoveRange(write, cps.Count - write);
    }

    private static bool TryCompose(int first, int second, out int composite)
    {
        var l = first - LBase;
        if (l >= 0 && l < LCount)
        {
            var v = second - VBase;
            if (v >= 0 && v < VCount) { composite = SBase + (l * VCount + v) * TCount; return true; }
        }
        var s = first - SBase;
        if (s >= 0 && s < SCount && s % TCount == 0)
        {
            var t = second - TBase;
            if (t > 0 && t < TCount) { composite = first + t; return true; }
        }
        return compositions.TryGetValue(((long)first << 21) | (uint)second, out composite);
    }

    private static Dictionary<int, (int, int)> BuildDecompositions()
    {
        var map = new Dictionary<int, (int, int)>(DecompositionData.Length / 3);
        for (var i = 0; i < DecompositionData.Length; i += 3)
            map[DecompositionData[i]] = (DecompositionData[i + 1], DecompositionData[i + 2]);
        return map;
    }

    private static Dictionary<long, int> BuildCompositions()
    {
        var map = new Dictionary<long, int>(CompositionData.Length / 3);
        for (var i = 0; i < CompositionData.Length; i += 3)
            map[((long)CompositionData[i] << 21) | (uint)CompositionData[i + 1]] = CompositionData[i + 2];
        return map;
    }
}

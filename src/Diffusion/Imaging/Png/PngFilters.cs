namespace Farm.Diffusion.Imaging.Png;

/// <summary>The five PNG row filters (None, Sub, Up, Average, Paeth).</summary>
internal static class PngFilters
{
    public const int Count = 5;

    /// <summary>Reverses <paramref name="filter"/> in place; <paramref name="previous"/> is the unfiltered row above (zeros for the first).</summary>
    public static void Unfilter(int filter, Span<byte> row, ReadOnlySpan<byte> previous, int bpp)
    {
        switch (filter)
        {
            case 0:
                break;
            case 1:
                for (var i = bpp; i < row.Length; i++) row[i] += row[i - bpp];
                break;
            case 2:
                for (var i = 0; i < row.Length; i++) row[i] += previous[i];
                break;
            case 3:
                for (var i = 0; i < row.Length; i++)
                    row[i] += (byte)(((i >= bpp ? row[i - bpp] : 0) + previous[i]) >> 1);
                break;
            case 4:
                for (var i = 0; i < row.Length; i++)
                    row[i] += Paeth(i >= bpp ? row[i - bpp] : (byte)0, previous[i], i >= bpp ? previous[i - bpp] : (byte)0);
                break;
            default:
                throw new InvalidDataException($"PNG: unknown row filter type {filter}");
        }
    }

    /// <summary>Writes <paramref name="row"/> filtered with <paramref name="filter"/> into <paramref name="output"/>.</summary>
    public static void Filter(int filter, ReadOnlySpan<byte> row, ReadOnlySpan<byte> previous, int bpp, Span<byte> output)
    {
        for (var i = 0; i < row.Length; i++)
        {
            var left = i >= bpp ? row[i - bpp] : (byte)0;
            var upLeft = i >= bpp ? previous[i - bpp] : (byte)0;
            output[i] = filter switch
            {
                0 => row[i],
                1 => (byte)(row[i] - left),
                2 => (byte)(row[i] - previous[i]),
                3 => (byte)(row[i] - ((left + previous[i]) >> 1)),
                _ => (byte)(row[i] - Paeth(left, previous[i], upLeft)),
            };
        }
    }

    /// <summary>The usual heuristic: the filter whose output has the smallest sum of |signed bytes|.</summary>
    public static int Choose(ReadOnlySpan<byte> row, ReadOnlySpan<byte> previous, int bpp, Span<byte> scratch, Span<byte> best)
    {
        var bestFilter = 0;
        var bestScore = long.MaxValue;
        for (var f = 0; f < Count; f++)
        {
            Filter(f, row, previous, bpp, scratch);
            long score = 0;
            foreach (var b in scratch) score += b < 128 ? b : 256 - b; // |signed byte|
            if (score < bestScore)
            {
                bestScore = score;
                bestFilter = f;
                scratch.CopyTo(best);
            }
        }
        return bestFilter;
    }

    private static byte Paeth(byte a, byte b, byte c)
    {
        var p = a + b - c;
        var pa = Math.Abs(p - a);
        var pb = Math.Abs(p - b);
        var pc = Math.Abs(p - c);
        if (pa <= pb && pa <= pc) return a;
        return pb <= pc ? b : c;
    }
}

using Xunit;

namespace Farm.Diffusion.Tests.Golden;

internal static class PixelAssert
{
    /// <summary>uint8 images: every value within ±1 and at most 0.1% of values off by one (fixture README).</summary>
    public static void MostlyEqual(byte[] expected, byte[] actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        int offByOne = 0, worst = 0;
        for (var i = 0; i < expected.Length; i++)
        {
            var d = Math.Abs(expected[i] - actual[i]);
            worst = Math.Max(worst, d);
            if (d == 1) offByOne++;
        }
        Assert.True(worst <= 1, $"{what}: a pixel value differs by {worst}");
        Assert.True(offByOne <= expected.Length / 1000, $"{what}: {offByOne} of {expected.Length} values differ by 1 (limit 0.1%)");
    }
}

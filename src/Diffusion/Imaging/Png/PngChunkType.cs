namespace Farm.Diffusion.Imaging.Png;

/// <summary>Chunk types we read or write, valued by their four ASCII letters (big-endian).</summary>
internal enum PngChunkType : uint
{
    Header = 0x49484452,          // IHDR
    Palette = 0x504C5445,         // PLTE
    Data = 0x49444154,            // IDAT
    End = 0x49454E44,             // IEND
    Transparency = 0x74524E53,    // tRNS
    Text = 0x74455874,            // tEXt
    CompressedText = 0x7A545874,  // zTXt
    InternationalText = 0x69545874, // iTXt
}

internal static class PngChunkTypeExtensions
{
    // Bit 5 of the first letter: lowercase = ancillary, which a reader may skip.
    public static bool IsCritical(this PngChunkType type) => ((uint)type & 0x20000000) == 0;

    public static string Name(this PngChunkType type) => new([
        (char)((uint)type >> 24), (char)(((uint)type >> 16) & 0xFF), (char)(((uint)type >> 8) & 0xFF), (char)((uint)type & 0xFF)]);
}

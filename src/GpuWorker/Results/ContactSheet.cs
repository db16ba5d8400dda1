using Farm.Diffusion.Imaging;
using Farm.Infrastructure.Storage;
using Farm.Shared.Contracts;
using Farm.Shared.Layout;

namespace Farm.GpuWorker.Results;

/// <summary>
/// A grid of a sweep's first images (at most <see cref="MaxImages"/>), each shrunk to a thumbnail and labelled
/// with its seed and prompt in a small built-in pixel font; stored beside the images when the sweep finishes.
/// </summary>
public static class ContactSheet
{
    public const int MaxImages = 64;
    private const int Cell = 128, Label = 2 * (5 + 2) * 2 + 4, Pad = 4;

    public static async Task<RgbImage?> BuildAsync(IObjectStore bucket, string sweepId, long total, CancellationToken cancellation)
    {
        var cells = new List<(RgbImage Image, ImageRecord Record)>();
        for (long i = 0; i < Math.Min(total, MaxImages); i++)
        {
            var json = await bucket.GetAsync(StorageKeys.ImageRecord(sweepId, i), cancellation);
            var png = await bucket.GetAsync(StorageKeys.Image(sweepId, i), cancellation);
            if (json is null || png is null) continue;
            cells.Add((PngDecoder.Decode(png).Image, FarmJson.Deserialize<ImageRecord>(System.Text.Encoding.UTF8.GetString(json))));
        }
        if (cells.Count == 0) return null;
        return Compose(cells);
    }

    public static async Task<string?> StoreAsync(IObjectStore bucket, string sweepId, long total, CancellationToken cancellation)
    {
        var sheet = await BuildAsync(bucket, sweepId, total, cancellation);
        if (sheet is null) return null;
        var key = StorageKeys.ContactSheet(sweepId);
        await bucket.PutAsync(key, PngEncoder.EncodeToBytes(sheet), "image/png", cancellation);
        return key;
    }

    internal static RgbImage Compose(IReadOnlyList<(RgbImage Image, ImageRecord Record)> cells)
    {
        var columns = (int)Math.Ceiling(Math.Sqrt(cells.Count));
        var rows = (cells.Count + columns - 1) / columns;
        int cellW = Cell + Pad, cellH = Cell + Label + Pad;
        var sheet = new RgbImage(columns * cellW + Pad, rows * cellH + Pad, 3);
        Array.Fill(sheet.Pixels, (byte)255);
        for (var n = 0; n < cells.Count; n++)
        {
            int x0 = Pad + n % columns * cellW, y0 = Pad + n / columns * cellH;
            Blit(Thumbnail(cells[n].Image), sheet, x0, y0);
            var record = cells[n].Record;
            PixelFont.Draw(sheet, x0, y0 + Cell + 2, $"#{record.Index} seed {record.Seed}", 2, Cell);
            PixelFont.Draw(sheet, x0, y0 + Cell + 2 + 14, record.Prompt, 2, Cell);
        }
        return sheet;
    }

    private static RgbImage Thumbnail(RgbImage image)
    {
        // Box filter into Cell×Cell, keeping the aspect ratio (letterboxed on white).
        var scale = Math.Max(image.Width, image.Height) / (double)Cell;
        int w = Math.Max(1, (int)(image.Width / scale)), h = Math.Max(1, (int)(image.Height / scale));
        var thumb = new RgbImage(Cell, Cell, 3);
        Array.Fill(thumb.Pixels, (byte)255);
        int ox = (Cell - w) / 2, oy = (Cell - h) / 2;
        for (var y = 0; y < h; y++)
            for (var x = 0; x < w; x++)
            {
                int sx0 = (int)(x * scale), sx1 = Math.Max(sx0 + 1, (int)((x + 1) * scale));
                int sy0 = (int)(y * scale), sy1 = Math.Max(sy0 + 1, (int)((y + 1) * scale));
                for (var c = 0; c < 3; c++)
                {
                    int sum = 0, count = 0;
                    for (var sy = sy0; sy < Math.Min(sy1, image.Height); sy++)
                        for (var sx = sx0; sx < Math.Min(sx1, image.Width); sx++)
                        {
                            sum += image.Pixels[(sy * image.Width + sx) * image.Channels + Math.Min(c, image.Channels - 1)];
                            count++;
                        }
                    thumb.Pixels[((oy + y) * Cell + ox + x) * 3 + c] = (byte)(count == 0 ? 255 : sum / count);
                }
            }
        return thumb;
    }

    private static void Blit(RgbImage source, RgbImage target, int x0, int y0)
    {
        for (var y = 0; y < source.Height; y++)
            Array.Copy(source.Pixels, y * source.Stride, target.Pixels, ((y0 + y) * target.Width + x0) * 3, source.Stride);
    }
}

/// <summary>A 3×5 pixel font (ASCII letters, digits, a little punctuation) for labels: no font files, no dependencies.</summary>
internal static class PixelFont
{
    private static readonly Dictionary<char, string> Glyphs = new()
    {
        ['0'] = "111101101101111", ['1'] = "010110010010111", ['2'] = "111001111100111", ['3'] = "111001111001111",
        ['4'] = "101101111001001", ['5'] = "111100111001111", ['6'] = "111100111101111", ['7'] = "111001001001001",
        ['8'] = "111101111101111", ['9'] = "111101111001111", ['a'] = "010101111101101", ['b'] = "110101110101110",
        ['c'] = "011100100100011", ['d'] = "110101101101110", ['e'] = "111100110100111", ['f'] = "111100110100100",
        ['g'] = "011100101101011", ['h'] = "101101111101101", ['i'] = "111010010010111", ['j'] = "001001001101010",
        ['k'] = "101101110101101", ['l'] = "100100100100111", ['m'] = "101111111101101", ['n'] = "110101101101101",
        ['o'] = "010101101101010", ['p'] = "110101110100100", ['q'] = "010101101110011", ['r'] = "110101110101101",
        ['s'] = "011100010001110", ['t'] = "111010010010010", ['u'] = "101101101101111", ['v'] = "101101101101010",
        ['w'] = "101101111111101", ['x'] = "101101010101101", ['y'] = "101101010010010", ['z'] = "111001010100111",
        [' '] = "000000000000000", ['-'] = "000000111000000", ['.'] = "000000000000010", [','] = "000000000010100",
        [':'] = "000010000010000", ['#'] = "101111101111101", ['?'] = "111001010000010", ['+'] = "000010111010000",
    };

    public static void Draw(RgbImage image, int x, int y, string text, int scale, int maxWidth)
    {
        var advance = 4 * scale;
        var maxChars = maxWidth / advance;
        if (text.Length > maxChars) text = text[..Math.Max(0, maxChars - 1)] + ".";
        foreach (var ch in text)
        {
            var glyph = Glyphs.GetValueOrDefault(char.ToLowerInvariant(ch), Glyphs['?']);
            for (var row = 0; row < 5; row++)
                for (var col = 0; col < 3; col++)
                    if (glyph[row * 3 + col] == '1')
                        for (var dy = 0; dy < scale; dy++)
                            for (var dx = 0; dx < scale; dx++)
                            {
                                int px = x + col * scale + dx, py = y + row * scale + dy;
                                if (px < image.Width && py < image.Height)
                                    image.Pixels.AsSpan(((py * image.Width) + px) * image.Channels, 3).Fill(0);
                            }
            x += advance;
        }
    }
}

using SkiaSharp;

namespace Farm.GpuWorker.Results;

/// <summary>
/// AUTOMATIC1111's X/Y/Z grid layout: cells at full size, a header band above with the X labels (wrapped to the
/// cell width, centred), a band on the left of 3/4 cell width with the Y labels (wrapped, centred on their row), black
/// DejaVu Sans on white at (cell width + height) / 25 px. A grid over <see cref="MaxPixels"/> is split into pages
/// of whole cells, each with its own headers; a single cell larger than that is still one page, never refused.
/// </summary>
internal sealed class GridLayout : IDisposable
{
    public const string FontPath = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";

    private readonly SKTypeface? ownedTypeface;
    private readonly SKFont font;
    private readonly List<string>[] columnLines, rowLines;

    public GridLayout(int cellWidth, int cellHeight, IReadOnlyList<string> columns, IReadOnlyList<string> rows, long maxPixels)
    {
        CellWidth = cellWidth;
        CellHeight = cellHeight;
        MaxPixels = maxPixels;
        // The Debian font when installed (setup.sh), else whatever sans font fontconfig finds.
        ownedTypeface = File.Exists(FontPath) ? SKTypeface.FromFile(FontPath) : null;
        var typeface = ownedTypeface ?? SKFontManager.Default.MatchFamily("DejaVu Sans") ?? SKTypeface.Default;
        font = new SKFont(typeface, Math.Max(12, (cellWidth + cellHeight) / 25)) { Edging = SKFontEdging.Antialias };
        LineSpacing = (int)font.Size / 2;
        Left = rows.Any(r => r.Length > 0) ? cellWidth * 3 / 4 : 0;
        columnLines = columns.Select(c => Wrap(c, cellWidth - LineSpacing)).ToArray();
        rowLines = rows.Select(r => Wrap(r, Left - LineSpacing)).ToArray();
        Top = columnLines.Length == 0 || columns.All(c => c.Length == 0) ? 0 : columnLines.Max(TextHeight) + LineSpacing * 2;
        (ColumnsPerPage, RowsPerPage) = Fit();
    }

    public int CellWidth { get; }
    public int CellHeight { get; }
    public long MaxPixels { get; }
    public int LineSpacing { get; }
    /// <summary>Width of the row-label band.</summary>
    public int Left { get; }
    /// <summary>Height of the column-label band.</summary>
    public int Top { get; }
    public int Columns => columnLines.Length;
    public int Rows => rowLines.Length;
    public int ColumnsPerPage { get; }
    public int RowsPerPage { get; }
    public int ColumnPages => (Columns + ColumnsPerPage - 1) / ColumnsPerPage;
    public int Pages => ColumnPages * ((Rows + RowsPerPage - 1) / RowsPerPage);

    /// <summary>The cells of a page (row pages outer, column pages inner): first column and row, and how many of each.</summary>
    public (int Column, int Row, int ColumnCount, int RowCount) Page(int page)
    {
        var column = page % ColumnPages * ColumnsPerPage;
        var row = page / ColumnPages * RowsPerPage;
        return (column, row, Math.Min(ColumnsPerPage, Columns - column), Math.Min(RowsPerPage, Rows - row));
    }

    /// <summary>Draws a page; <paramref name="cell"/> gives the image of (column, row), or null for a cell left white (a failed image).</summary>
    public SKBitmap Draw(int page, Func<int, int, SKBitmap?> cell)
    {
        var (column0, row0, columns, rows) = Page(page);
        var bitmap = new SKBitmap(Left + columns * CellWidth, Top + rows * CellHeight, SKColorType.Rgba8888, SKAlphaType.Opaque);
        using var canvas = new SKCanvas(bitmap);
        canvas.Clear(SKColors.White);
        using var ink = new SKPaint { Color = SKColors.Black, IsAntialias = true };
        var sampling = new SKSamplingOptions(SKFilterMode.Linear);
        for (var c = 0; c < columns; c++)
            DrawLines(canvas, ink, columnLines[column0 + c], Left + c * CellWidth + CellWidth / 2f, Top / 2f);
        for (var r = 0; r < rows; r++)
        {
            // Clipped to its row: with small cells a long prompt would run into the next row's label.
            canvas.Save();
            canvas.ClipRect(SKRect.Create(0, Top + r * CellHeight, Left, CellHeight));
            DrawLines(canvas, ink, rowLines[row0 + r], Left / 2f, Top + r * CellHeight + CellHeight / 2f);
            canvas.Restore();
            for (var c = 0; c < columns; c++)
            {
                using var image = cell(column0 + c, row0 + r);
                if (image is null) continue;
                // Centred in its cell: sweeps over `size` have cells as large as their largest image.
                float x = Left + c * CellWidth + (CellWidth - image.Width) / 2f, y = Top + r * CellHeight + (CellHeight - image.Height) / 2f;
                using var drawn = SKImage.FromBitmap(image);
                canvas.DrawImage(drawn, x, y, sampling);
            }
        }
        return bitmap;
    }

    private (int Columns, int Rows) Fit()
    {
        var columns = Math.Max(1, Columns);
        while (columns > 1 && (long)(Left + columns * CellWidth) * (Top + CellHeight) > MaxPixels) columns--;
        var rows = Math.Max(1, Rows);
        while (rows > 1 && (long)(Left + columns * CellWidth) * (Top + rows * CellHeight) > MaxPixels) rows--;
        return (columns, rows);
    }

    private float LineHeight => font.Spacing;

    private int TextHeight(List<string> lines) => (int)Math.Ceiling(lines.Count * LineHeight);

    private void DrawLines(SKCanvas canvas, SKPaint ink, List<string> lines, float centreX, float centreY)
    {
        var y = centreY - lines.Count * LineHeight / 2 - font.Metrics.Ascent;
        foreach (var line in lines)
        {
            canvas.DrawText(line, centreX, y, SKTextAlign.Center, font, ink);
            y += LineHeight;
        }
    }

    // Greedy word wrap; a word wider than the band is broken between characters.
    private List<string> Wrap(string text, int width)
    {
        var lines = new List<string>();
        if (text.Length == 0) return lines;
        width = Math.Max(width, (int)font.Size);
        var line = "";
        foreach (var word in text.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = line.Length == 0 ? word : line + " " + word;
            if (font.MeasureText(candidate) <= width)
            {
                line = candidate;
                continue;
            }
            if (line.Length > 0) lines.Add(line);
            line = word;
            while (font.MeasureText(line) > width && line.Length > 1)
            {
                var fits = 1;
                while (fits < line.Length && font.MeasureText(line[..(fits + 1)]) <= width) fits++;
                lines.Add(line[..fits]);
                line = line[fits..];
            }
        }
        if (line.Length > 0) lines.Add(line);
        return lines;
    }

    public void Dispose()
    {
        font.Dispose();
        ownedTypeface?.Dispose();
    }
}

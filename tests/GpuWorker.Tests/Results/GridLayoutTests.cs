using Farm.GpuWorker.Results;
using SkiaSharp;
using Xunit;

namespace Farm.GpuWorker.Tests.Results;

public sealed class GridLayoutTests
{
    private const int Cell = 100;
    private static readonly string[] Columns = ["guidanceScale: 5", "guidanceScale: 7.5", "guidanceScale: 10"];
    private static readonly string[] Rows = ["a fox", "a lighthouse on a cliff at dusk, oil painting"];

    [Fact]
    public void A_three_by_two_grid_is_its_cells_plus_a_left_band_of_three_quarters_of_a_cell_and_a_header_with_the_labels()
    {
        using var layout = new GridLayout(Cell, Cell, Columns, Rows, 100_000_000);
        Assert.Equal(1, layout.Pages);
        using var grid = layout.Draw(0, (c, r) => Solid(SKColors.Red));

        Assert.Equal(75 + 3 * Cell, grid.Width);
        var header = grid.Height - 2 * Cell;
        Assert.InRange(header, 10, Cell);
        // The cells are where the layout says: below the header, right of the row band.
        Assert.Equal(SKColors.Red, grid.GetPixel(75 + Cell / 2, header + Cell / 2));
        Assert.Equal(SKColors.Red, grid.GetPixel(grid.Width - 1, grid.Height - 1));
        // Each column label is drawn in the header above its column, each row label in the band beside its row.
        for (var c = 0; c < 3; c++) Assert.True(HasInk(grid, 75 + c * Cell, 0, Cell, header), $"column {c} has no label");
        for (var r = 0; r < 2; r++) Assert.True(HasInk(grid, 0, header + r * Cell, 75, Cell), $"row {r} has no label");
        // Nothing is drawn in the corner above the row labels.
        Assert.False(HasInk(grid, 0, 0, 75, header));
    }

    [Fact]
    public void A_long_prompt_is_wrapped_onto_several_lines_inside_its_band()
    {
        using var layout = new GridLayout(Cell, Cell, Columns, Rows, 100_000_000);
        using var grid = layout.Draw(0, (_, _) => null);
        var header = grid.Height - 2 * Cell;
        // The long row label is taller than one line and stays inside the band (the cells are left white: no ink right of it).
        var inkRows = Enumerable.Range(header + Cell, Cell).Count(y => HasInk(grid, 0, y, 75, 1));
        Assert.True(inkRows > 2 * layout.LineSpacing * 2, $"only {inkRows} rows of ink: not wrapped");
        Assert.False(HasInk(grid, 75, header, 3 * Cell, 2 * Cell));
    }

    [Fact]
    public void A_grid_over_the_cap_is_split_into_pages_each_within_it_that_hold_every_cell_once()
    {
        // 3×2 cells of 100×100 with headers is about 375×(2×100+header) = 90,000+ px; a 50,000 px cap fits one row of three.
        const long cap = 50_000;
        using var layout = new GridLayout(Cell, Cell, Columns, Rows, cap);
        Assert.True(layout.Pages > 1);
        var seen = new List<(int, int)>();
        for (var page = 0; page < layout.Pages; page++)
        {
            using var grid = layout.Draw(page, (c, r) =>
            {
                seen.Add((c, r));
                return Solid(SKColors.Blue);
            });
            Assert.True((long)grid.Width * grid.Height <= cap, $"page {page} is {grid.Width}×{grid.Height}");
        }
        Assert.Equal([(0, 0), (0, 1), (1, 0), (1, 1), (2, 0), (2, 1)], seen.Order());
    }

    [Fact]
    public void A_single_cell_larger_than_the_cap_is_still_drawn()
    {
        using var layout = new GridLayout(Cell, Cell, ["x"], ["y"], 10);
        Assert.Equal(1, layout.Pages);
        using var grid = layout.Draw(0, (_, _) => Solid(SKColors.Green));
        Assert.Equal(75 + Cell, grid.Width);
    }

    private static SKBitmap Solid(SKColor color)
    {
        var bitmap = new SKBitmap(Cell, Cell);
        bitmap.Erase(color);
        return bitmap;
    }

    private static bool HasInk(SKBitmap grid, int x0, int y0, int width, int height)
    {
        for (var y = y0; y < y0 + height; y++)
            for (var x = x0; x < x0 + width; x++)
                if (grid.GetPixel(x, y) is var p && p.Red < 128 && p.Green < 128 && p.Blue < 128) return true;
        return false;
    }
}

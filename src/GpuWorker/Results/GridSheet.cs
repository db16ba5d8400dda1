using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Farm.Infrastructure.Storage;
using Farm.Shared.Layout;
using Farm.Shared.Sweeps;
using Microsoft.Extensions.Logging;
using SkiaSharp;

namespace Farm.GpuWorker.Results;

/// <summary>
/// The X/Y/Z plots of a finished sweep, drawn in <see cref="GridLayout"/> from the images in the bucket and stored as
/// <c>sweeps/&lt;id&gt;/grids/&lt;z&gt;-&lt;page&gt;.png</c>. The axes are the spec's <c>grid</c>; unset X and Y are the two
/// dimensions with the most values (seeds included; on a tie the inner one is X). Every other dimension, the chosen Z
/// outermost, is folded into Z: one grid per combination of them, so no image is left out.
/// </summary>
internal static class GridSheet
{
    private const double DefaultMaxMegapixels = 100;

    /// <summary>Like the contact sheet, best effort: a failure is logged and the sweep finishes all the same.</summary>
    public static async Task StoreBestEffortAsync(IObjectStore bucket, string sweepId, ILogger logger, CancellationToken cancellation)
    {
        try
        {
            var keys = await StoreAsync(bucket, sweepId, cancellation);
            logger.LogInformation("grids for {Sweep}: {Count} stored", sweepId, keys.Count);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            logger.LogWarning("grids for {Sweep} not stored: {Error}", sweepId, e.Message);
        }
    }

    public static async Task<IReadOnlyList<string>> StoreAsync(IObjectStore bucket, string sweepId, CancellationToken cancellation)
    {
        var json = await bucket.GetAsync(StorageKeys.Manifest(sweepId), cancellation);
        if (json is null) return [];
        var manifest = JsonNode.Parse(Encoding.UTF8.GetString(json))!.AsObject();
        var parsed = SweepSpecParser.FromNode(manifest["spec"]!.DeepClone());
        if (!parsed.IsValid) throw new InvalidDataException($"manifest spec is invalid: {parsed.Errors}");
        var plan = new SweepPlan(parsed.Spec!, manifest["batchSize"]!.GetValue<int>());
        var maxPixels = (long)((manifest["gridMaxMegapixels"]?.GetValue<double>() ?? DefaultMaxMegapixels) * 1_000_000);

        var dimensions = Dimensions(plan);
        var (x, y, zs) = Choose(plan, dimensions);
        var cellWidth = plan.Spec.SizeAxis.Max(s => s.Width);
        var cellHeight = plan.Spec.SizeAxis.Max(s => s.Height);
        var keys = new List<string>();
        var zCount = zs.Aggregate(1L, (n, d) => n * dimensions[d]);
        for (var z = 0L; z < zCount; z++)
        {
            var at = new int[dimensions.Length];
            var rest = z;
            for (var k = zs.Length - 1; k >= 0; k--)
            {
                at[zs[k]] = (int)(rest % dimensions[zs[k]]);
                rest /= dimensions[zs[k]];
            }
            var columns = Labels(plan, dimensions, at, x);
            var rows = Labels(plan, dimensions, at, y);
            using var layout = new GridLayout(cellWidth, cellHeight, columns, rows, maxPixels);
            for (var page = 0; page < layout.Pages; page++)
            {
                // Encoded until drawn: a page holds up to the cap in pixels, so only one cell is decoded at a time.
                var cells = new Dictionary<(int, int), byte[]?>();
                var (column0, row0, columnCount, rowCount) = layout.Page(page);
                for (var r = row0; r < row0 + rowCount; r++)
                    for (var c = column0; c < column0 + columnCount; c++)
                    {
                        at[x] = c;
                        at[y] = r;
                        var png = await bucket.GetAsync(StorageKeys.Image(sweepId, IndexOf(dimensions, at)), cancellation);
                        cells[(c, r)] = png;
                    }
                using var grid = layout.Draw(page, (c, r) => cells[(c, r)] is { } png ? SKBitmap.Decode(png) : null);
                using var encoded = grid.Encode(SKEncodedImageFormat.Png, 100);
                var key = StorageKeys.Grid(sweepId, z, page);
                await bucket.PutAsync(key, encoded.ToArray(), "image/png", cancellation);
                keys.Add(key);
            }
        }
        return keys;
    }

    // Values per dimension of the image index, outermost first: the axes' dimensions, then the seeds.
    private static long[] Dimensions(SweepPlan plan) =>
        [.. plan.Axes.DimensionAxes.Select(d => (long)d.Max(a => plan.Axes.AxisCounts[a])), plan.Spec.Seeds.Count];

    private static (int X, int Y, int[] Z) Choose(SweepPlan plan, long[] dimensions)
    {
        int Of(string? name) => name is null ? -1 : GridAxes.DimensionOf(plan.Axes, name);
        var grid = plan.Spec.Grid ?? new GridAxes(null, null, null);
        var (x, y, z) = (Of(grid.X), Of(grid.Y), Of(grid.Z));
        // Most values first; on a tie the inner dimension (later in the index) first.
        var byCount = Enumerable.Range(0, dimensions.Length).OrderByDescending(d => dimensions[d]).ThenByDescending(d => d).ToList();
        if (x < 0) x = byCount.First(d => d != y && d != z);
        if (y < 0) y = byCount.FirstOrDefault(d => d != x && d != z, -1);
        if (y < 0) y = x == 0 ? 1 : 0; // only reachable with z taking the last free dimension; then Y is one value
        var rest = Enumerable.Range(0, dimensions.Length).Where(d => d != x && d != y && d != z);
        return (x, y, [.. z >= 0 && z != x && z != y ? [z] : Array.Empty<int>(), .. rest]);
    }

    private static long IndexOf(long[] dimensions, int[] at)
    {
        var index = 0L;
        for (var d = 0; d < dimensions.Length; d++) index = index * dimensions[d] + at[d];
        return index;
    }

    // A1111's labels: "axis: value" (the prompt itself for prompts), the axes of a zipped dimension joined by commas.
    private static string[] Labels(SweepPlan plan, long[] dimensions, int[] at, int dimension)
    {
        var labels = new string[dimensions[dimension]];
        var probe = (int[])at.Clone();
        for (var v = 0; v < labels.Length; v++)
        {
            probe[dimension] = v;
            var image = plan.Image(IndexOf(dimensions, probe));
            labels[v] = dimension == dimensions.Length - 1
                ? $"seed: {image.Seed}"
                : string.Join(", ", plan.Axes.DimensionAxes[dimension].Select(a => Label(plan.Axes.AxisNames[a], image)));
        }
        return labels;
    }

    private static string Label(string axis, ImageParams image)
    {
        var inv = CultureInfo.InvariantCulture;
        return axis switch
        {
            SweepAxes.Prompts => image.Prompt,
            SweepAxes.Model => $"model: {image.Model}",
            SweepAxes.NegativePrompt => $"negativePrompt: {image.NegativePrompt}",
            SweepAxes.Size => $"size: {image.Width}x{image.Height}",
            SweepAxes.GuidanceScale => $"guidanceScale: {image.GuidanceScale.ToString(inv)}",
            SweepAxes.Steps => $"steps: {image.Steps.ToString(inv)}",
            SweepAxes.Scheduler => $"scheduler: {image.Scheduler}",
            SweepAxes.ClipSkip => $"clipSkip: {image.ClipSkip.ToString(inv)}",
            SweepAxes.Strength => $"strength: {image.Strength?.ToString(inv)}",
            SweepAxes.Embeddings => $"embeddings: {string.Join(", ", image.Embeddings ?? [])}",
            _ when axis.StartsWith(SweepAxes.LoraPrefix, StringComparison.Ordinal) =>
                $"{axis}: {image.Loras?.FirstOrDefault(l => SweepAxes.LoraPrefix + l.Name == axis)?.Scale.ToString(inv)}",
            _ => axis,
        };
    }
}

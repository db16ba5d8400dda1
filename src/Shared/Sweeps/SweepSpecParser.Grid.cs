using System.Text.Json.Nodes;

namespace Farm.Shared.Sweeps;

public static partial class SweepSpecParser
{
    private static string[] GridFields => ["grid"];
    private static readonly string[] GridParts = ["x", "y", "z"];

    // Shapes here; the names are checked against the spec's axes by CheckGrid once the spec is known.
    private static GridAxes? ParseGridField(JsonObject obj, SweepErrors errors)
    {
        if (obj["grid"] is not { } node) return null;
        if (node is not JsonObject grid)
        {
            errors.Add("grid", "must be an object {x: AXIS, y: AXIS, z: AXIS} (each optional)");
            return null;
        }
        var names = new string?[3];
        foreach (var (field, value) in grid)
        {
            var at = Array.IndexOf(GridParts, field);
            if (at >= 0 && value is null) continue;
            if (at < 0) errors.Add($"grid.{field}", "unknown field (known: x, y, z)");
            else if (value is JsonValue v && v.TryGetValue<string>(out var name) && name.Length > 0) names[at] = name;
            else errors.Add($"grid.{field}", "must be an axis name");
        }
        return new GridAxes(names[0], names[1], names[2]);
    }

    private static SweepSpec CheckGrid(SweepSpec spec, SweepErrors errors)
    {
        if (spec.Grid is not { } grid) return spec;
        var axes = new SweepAxes(spec);
        var known = axes.AxisNames.Append(GridAxes.Seeds).ToList();
        var dimensions = new Dictionary<int, string>();
        foreach (var (part, name) in GridParts.Zip([grid.X, grid.Y, grid.Z]))
        {
            if (name is null) continue;
            var dimension = GridAxes.DimensionOf(axes, name);
            if (dimension < 0) errors.Add($"grid.{part}", $"unknown axis '{name}' (known: {string.Join(", ", known)})");
            else if (!dimensions.TryAdd(dimension, part))
                errors.Add($"grid.{part}", $"'{name}' is the same dimension as grid.{dimensions[dimension]} (the same axis, or zipped with it)");
        }
        return spec;
    }
}

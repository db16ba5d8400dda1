using System.Text.Json.Nodes;
using Farm.Shared.Sweeps;

namespace Farm.Cli.Commands;

/// <summary>
/// `farm submit`'s uploads: an <c>init</c> or <c>mask</c> that is not an asset id names an image file (relative to the
/// spec's folder), which is uploaded with POST /v1/assets and replaced by its id before the spec is submitted.
/// </summary>
internal static class LocalAssets
{
    private static readonly string[] Fields = ["init", "mask"];

    /// <summary>The spec to submit: the text itself when it names no local file, else its tree as JSON with asset ids in their place.</summary>
    public static async Task<string> UploadAsync(string spec, string specFile, FarmClient client, CancellationToken cancellation)
    {
        // A spec that does not parse goes as written: the coordinator's answer names the problem.
        if (SweepSpecParser.ReadTree(spec) is not JsonObject tree) return spec;
        var folder = Path.GetDirectoryName(Path.GetFullPath(specFile))!;
        var changed = false;
        foreach (var field in Fields)
        {
            if (tree[field] is not JsonValue value || !value.TryGetValue<string>(out var reference) || AssetIds.IsValid(reference.Trim())) continue;
            var path = Path.GetFullPath(Path.Combine(folder, reference.Trim()));
            if (!File.Exists(path)) throw new UsageException($"{field}: no such file {path} ({field} is an asset id or an image file, relative to the spec)");
            var asset = await client.UploadAssetAsync(await File.ReadAllBytesAsync(path, cancellation), $"{field} {reference}", cancellation);
            Console.Error.WriteLine($"{field}: uploaded {reference} as asset {asset.Id} ({asset.Width}x{asset.Height} {asset.Format})");
            tree[field] = asset.Id;
            changed = true;
        }
        return changed ? tree.ToJsonString() : spec;
    }
}

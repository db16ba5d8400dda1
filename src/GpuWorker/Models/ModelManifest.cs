using System.Text.Json;
using System.Text.RegularExpressions;
using Farm.Shared.Contracts;

namespace Farm.GpuWorker.Models;

/// <summary>
/// <c>models/&lt;name&gt;/manifest.json</c>: a pushed model's files, each by its path in a worker's models folder (so a
/// download laid out by these paths is what <see cref="ModelLibrary"/> scans), with its size and SHA-256.
/// </summary>
public sealed partial record ModelManifest(string Name, string Family, string WeightsSha256, IReadOnlyList<ModelFileEntry> Files, DateTimeOffset PushedAt)
{
    public long Bytes => Files.Sum(f => f.Size);

    public static string? NameProblem(string name) =>
        ValidName().IsMatch(name) ? null : $"model name '{name}' must be 1–64 of a-z, A-Z, 0-9, '.', '_', '-', starting with a letter or digit";

    public string ToJson() => JsonSerializer.Serialize(this, FarmJson.Options);

    public static ModelManifest Parse(string json, string key)
    {
        try
        {
            var manifest = JsonSerializer.Deserialize<ModelManifest>(json, FarmJson.Options) ?? throw new InvalidDataException("empty");
            if (NameProblem(manifest.Name) is { } problem) throw new InvalidDataException(problem);
            foreach (var file in manifest.Files)
                if (file.Path.Contains("..", StringComparison.Ordinal) || Path.IsPathRooted(file.Path) || !(file.Path.StartsWith(manifest.Name + "/", StringComparison.Ordinal) || file.Path.StartsWith(manifest.Name + ".", StringComparison.Ordinal)))
                    throw new InvalidDataException($"file path '{file.Path}' is outside the model");
            return manifest;
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{key} is not a model manifest: {e.Message}", e);
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"{key} is not a valid model manifest: {e.Message}", e);
        }
    }

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
    private static partial Regex ValidName();
}

public sealed record ModelFileEntry(string Path, long Size, string Sha256);

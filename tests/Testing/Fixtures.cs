namespace Farm.Testing;

/// <summary>
/// Locates the diffusers-produced golden files in <c>../shared/fixtures/</c>: one folder per family or format
/// (<c>sd-tiny</c>, <c>sd2-tiny</c>, <c>sdxl-tiny</c>, <c>single-file</c>, <c>adapters</c>). They are read in
/// place, never copied. In a user's clone the folder may be absent: golden tests then skip with the reason;
/// under <c>CI=true</c> its absence is a failure.
/// </summary>
public static class Fixtures
{
    public const string SdTiny = "sd-tiny";
    public const string Sd2Tiny = "sd2-tiny";
    public const string SdxlTiny = "sdxl-tiny";
    public const string SingleFile = "single-file";
    public const string Adapters = "adapters";

    private static readonly Lazy<string?> fixturesRoot = new(FindFixturesRoot);

    /// <summary>The sd-tiny fixture folder, or null when it is not beside the repository.</summary>
    public static string? Root => FolderOrNull(SdTiny);

    public static string ModelDir => Path.Combine(RequireRoot(), "model");

    public static string Case(string caseId) => Path.Combine(RequireRoot(), "cases", caseId);

    /// <summary>Returns the sd-tiny fixture root, or throws a skip (or, under CI, a failure) when absent.</summary>
    public static string RequireRoot() => Folder(SdTiny);

    /// <summary>One fixture folder (e.g. <see cref="SdxlTiny"/>), or a skip (under CI, a failure) when it is absent.</summary>
    public static string Folder(string name)
    {
        if (FolderOrNull(name) is { } folder) return folder;
        var why = $"golden fixtures not found: expected ../shared/fixtures/{name} beside the repository (set FARM_FIXTURES to the fixtures folder to override)";
        if (string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase))
            throw new InvalidOperationException(why + "; CI=true requires them");
        throw new Xunit.SkipException(why);
    }

    /// <summary>A file or folder inside a fixture folder, e.g. <c>PathIn(SingleFile, "checkpoints", "sd-tiny.ckpt")</c>.</summary>
    public static string PathIn(string name, params string[] parts) => System.IO.Path.Combine([Folder(name), .. parts]);

    /// <summary>The model folder of a family fixture (<c>sdxl-tiny/model</c>).</summary>
    public static string Model(string name) => PathIn(name, "model");

    /// <summary>A case folder of a fixture (<c>sdxl-tiny/cases/vae_decode</c>).</summary>
    public static string CaseIn(string name, string caseId) => PathIn(name, "cases", caseId);

    private static string? FolderOrNull(string name)
    {
        if (fixturesRoot.Value is not { } root) return null;
        var folder = System.IO.Path.Combine(root, name);
        return Directory.Exists(folder) ? folder : null;
    }

    /// <summary>
    /// <c>FARM_FIXTURES</c> names the folder that holds every fixture folder (or, as before, the sd-tiny folder
    /// itself, whose parent is then used); otherwise the first <c>shared/fixtures</c> above the test binaries.
    /// </summary>
    private static string? FindFixturesRoot()
    {
        var explicitRoot = Environment.GetEnvironmentVariable("FARM_FIXTURES");
        if (!string.IsNullOrEmpty(explicitRoot))
        {
            if (!Directory.Exists(explicitRoot)) return null;
            return System.IO.Path.GetFileName(System.IO.Path.TrimEndingDirectorySeparator(explicitRoot)) == SdTiny
                ? System.IO.Path.GetDirectoryName(System.IO.Path.TrimEndingDirectorySeparator(explicitRoot))
                : explicitRoot;
        }
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = System.IO.Path.Combine(dir.FullName, "shared", "fixtures");
            if (Directory.Exists(System.IO.Path.Combine(candidate, SdTiny))) return candidate;
        }
        return null;
    }
}

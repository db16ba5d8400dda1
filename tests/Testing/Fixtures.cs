namespace Farm.Testing;

/// <summary>
/// Locates the diffusers-produced golden files in <c>../shared/fixtures/sd-tiny</c>.
/// They are read in place, never copied. In a user's clone the folder may be absent: golden
/// tests then skip with the reason; under <c>CI=true</c> its absence is a failure.
/// </summary>
public static class Fixtures
{
    private static readonly Lazy<string?> root = new(FindRoot);

    /// <summary>The sd-tiny fixture folder, or null when it is not beside the repository.</summary>
    public static string? Root => root.Value;

    public static string ModelDir => Path.Combine(RequireRoot(), "model");

    public static string Case(string caseId) => Path.Combine(RequireRoot(), "cases", caseId);

    /// <summary>Returns the fixture root, or throws a skip (or, under CI, a failure) when absent.</summary>
    public static string RequireRoot()
    {
        if (Root is not null) return Root;
        const string why = "golden fixtures not found: expected ../shared/fixtures/sd-tiny beside the repository (set FARM_FIXTURES to override)";
        if (string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase))
            throw new InvalidOperationException(why + "; CI=true requires them");
        throw new Xunit.SkipException(why);
    }

    private static string? FindRoot()
    {
        var explicitRoot = Environment.GetEnvironmentVariable("FARM_FIXTURES");
        if (!string.IsNullOrEmpty(explicitRoot)) return Directory.Exists(explicitRoot) ? explicitRoot : null;
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "shared", "fixtures", "sd-tiny");
            if (Directory.Exists(candidate)) return candidate;
        }
        return null;
    }
}

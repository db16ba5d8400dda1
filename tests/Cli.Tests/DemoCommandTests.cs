namespace Farm.Cli.Tests;

/// <summary>`farm demo` end to end in-process: the terminal shows progress and an honest ending, the logs go to a file.</summary>
[Collection("console")]
public class DemoCommandTests : IDisposable
{
    private readonly string folder = Directory.CreateTempSubdirectory("farm-demo-").FullName;

    public void Dispose() => Directory.Delete(folder, recursive: true);

    [Fact]
    public async Task The_demo_ends_by_saying_the_images_are_noise_and_how_to_use_a_real_checkpoint()
    {
        var (code, error, output) = await Cli.RunCapturingOutput("demo", "--out", Path.Combine(folder, "renders"), "--models", Path.Combine(folder, "models"));
        Assert.True(code == 0, error + output);
        var lines = output.TrimEnd().Split('\n').Select(l => l.TrimEnd('\r')).ToArray();
        Assert.Contains("random weights: the images are noise", lines[^3]);
        Assert.Contains("reproducible", lines[^3]);
        Assert.Contains("./farm submit ", lines[^1]);
        var spec = Path.Combine(folder, "renders", "demo-sweep.yaml");
        Assert.Contains(spec, lines[^1]);
        Assert.Contains("model: sd15", File.ReadAllText(spec));
        // The prompt × guidance grids, one per seed, are in the folder bucket.
        var grids = lines.Single(l => l.StartsWith("grids (prompt × guidance scale, one per seed): ", StringComparison.Ordinal)).Split(": ", 2)[1].Split(", ");
        Assert.Equal(2, grids.Length);
        Assert.All(grids, g => Assert.True(File.Exists(g), $"{g} is not there"));
        // No log lines between the progress bars: every line is one the demo writes itself.
        Assert.DoesNotContain(lines, l => l.Contains("[INF]") || l.Contains("info:") || l.Contains("warn:") || l.Contains("Bus started"));
        var log = lines.Single(l => l.StartsWith("logs: ", StringComparison.Ordinal))["logs: ".Length..];
        Assert.Contains("Bus started", File.ReadAllText(log));
    }
}

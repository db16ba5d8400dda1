using System.Globalization;

namespace Farm.Cli.Tests;

/// <summary>`farm bench` as scripts use it: usage errors are one line with exit code 2; a run ends with the machine-readable line.</summary>
[Collection("console")]
public class BenchCommandTests
{
    [Theory]
    [InlineData(new[] { "bench", "clip" }, "unknown component 'clip': use unet, vae, text or txt2img")]
    [InlineData(new[] { "bench", "txt2img", "--steps", "0" }, "--steps must be a whole number in [1, 1000]")]
    [InlineData(new[] { "bench", "unet", "--dtype", "f64" }, "f64")]
    [InlineData(new[] { "bench", "unet", "--family", "sd3" }, "unknown family 'sd3': use sd15 or sdxl")]
    [InlineData(new[] { "bench", "vae", "--family", "sdxl" }, "--family sdxl is only for bench unet")]
    public async Task A_usage_error_is_one_line_and_exit_code_2(string[] args, string message)
    {
        var (code, error) = await Cli.Run(args);
        Assert.Equal(2, code);
        Assert.Contains(message, error);
        Assert.Single(error.Trim().Split('\n'));
    }

    [Fact]
    public async Task A_run_reports_each_timing_and_ends_with_the_median_and_the_peak_memory()
    {
        // The full-size CLIP text encoder (123M random parameters) is the cheapest SD1.5 component to time.
        var (code, error, output) = await Cli.RunCapturingOutput("bench", "text", "--runs", "3");
        Assert.True(code == 0, error);
        var lines = output.Trim().Split('\n');
        Assert.Contains(lines, l => l.Contains("warm-up"));
        var runs = lines.Where(l => l.TrimStart().StartsWith("run ", StringComparison.Ordinal)).ToList();
        Assert.Equal(3, runs.Count);
        var fields = lines[^1].Split(' ').Select(f => f.Split('=')).ToDictionary(f => f[0], f => double.Parse(f[1], CultureInfo.InvariantCulture));
        Assert.Equal(["median_s", "peak_rss_mb"], fields.Keys);
        Assert.InRange(fields["median_s"], 1e-3, 600);
        // The weights alone are 0.49 GB: a smaller peak would mean the model was not really loaded.
        Assert.InRange(fields["peak_rss_mb"], 470, 64 * 1024);
    }
}

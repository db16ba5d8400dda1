using Farm.Diffusion.Imaging;
using Farm.Testing;

namespace Farm.Cli.Tests;

/// <summary>The CLI as a person uses it: real arguments through the command table, real files written.</summary>
[Collection("console")]
public class RenderCommandTests : IDisposable
{
    private readonly string folder = Directory.CreateTempSubdirectory("farm-cli-").FullName;

    public void Dispose() => Directory.Delete(folder, recursive: true);

    [SkippableFact]
    public async Task A_batch_render_writes_one_png_per_seed_with_its_parameters_embedded()
    {
        var output = Path.Combine(folder, "fox.png");
        var (code, error) = await Cli.Run("render", "--model", Fixtures.ModelDir, "--prompt", "a red fox", "--seed", "41", "--batch", "2",
            "--steps", "3", "--scheduler", "dpm++2m", "--width", "64", "--height", "48", "--out", output);
        Assert.True(code == 0, error);
        foreach (var seed in new[] { 41L, 42L })
        {
            var path = Path.Combine(folder, $"fox-{seed}.png");
            var png = PngDecoder.Load(path);
            Assert.Equal((64, 48, 3), (png.Image.Width, png.Image.Height, png.Image.Channels));
            var metadata = GenerationMetadata.FromPngText(png.Text)!;
            Assert.Equal(("a red fox", seed, 3, "dpm++2m"), (metadata.Prompt, metadata.Seed, metadata.Steps, metadata.Sampler));
            Assert.Contains("Seed: " + seed, png.Text[GenerationMetadata.A1111Keyword]);
        }
    }

    [SkippableTheory]
    [InlineData("--scheduler", "karras-magic", "scheduler: unknown 'karras-magic'")]
    [InlineData("--width", "100", "width: must be a multiple of 8")]
    [InlineData("--steps", "zero", "--steps must be a whole number")]
    [InlineData("--colour", "red", "unknown option --colour")]
    public async Task A_bad_value_is_one_line_naming_it_and_exit_code_2(string option, string value, string message)
    {
        Skip.If(Fixtures.Root is null && option is "--scheduler" or "--width", "needs the fixture model to get as far as validation");
        var model = Fixtures.Root is null ? folder : Fixtures.ModelDir;
        var (code, error) = await Cli.Run("render", "--model", model, "--prompt", "x", option, value, "--out", Path.Combine(folder, "x.png"));
        Assert.Equal(2, code);
        Assert.Contains(message, error);
        Assert.Single(error.Trim().Split('\n'));
    }

    [Fact]
    public async Task A_missing_model_folder_is_one_line_and_exit_code_2()
    {
        var (code, error) = await Cli.Run("render", "--model", Path.Combine(folder, "nope"), "--prompt", "x", "--out", Path.Combine(folder, "x.png"));
        Assert.Equal(2, code);
        Assert.Contains("does not exist", error);
        Assert.Single(error.Trim().Split('\n'));
    }

    [SkippableFact]
    public async Task Tokenize_prints_the_ids_and_says_when_a_prompt_is_truncated()
    {
        var (code, error, output) = await Cli.RunCapturingOutput("tokenize", "--model", Fixtures.ModelDir, string.Join(' ', Enumerable.Repeat("cat", 80)));
        Assert.True(code == 0, error);
        var lines = output.Trim().Split('\n');
        Assert.Equal(77, lines[0].Split(' ').Length);
        Assert.Contains("80 tokens: truncated to 75", lines[1]);
    }
}

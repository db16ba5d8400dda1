using Farm.Diffusion.Imaging;
using Farm.Testing;

namespace Farm.Cli.Tests;

/// <summary>`farm render` on the model files people have: checkpoints with a config folder, LoRAs, embeddings, and the one-line errors.</summary>
[Collection("console")]
public class RenderModelFormatTests : IDisposable
{
    private readonly string folder = Directory.CreateTempSubdirectory("farm-cli-").FullName;

    public void Dispose() => Directory.Delete(folder, recursive: true);

    [SkippableFact]
    public async Task A_checkpoint_file_renders_with_its_config_folder_and_a_lora_and_an_embedding()
    {
        var output = Path.Combine(folder, "castle.png");
        var (code, error) = await Cli.Run("render", "--model", Fixtures.PathIn(Fixtures.SingleFile, "checkpoints", "sd-tiny.ckpt"),
            "--config", Fixtures.Model(Fixtures.SdTiny), "--prompt", "a <emb3> painting of a castle", "--steps", "2",
            "--lora", Fixtures.PathIn(Fixtures.Adapters, "files", "lora_a.kohya.safetensors") + ":0.5",
            "--embedding", Fixtures.PathIn(Fixtures.Adapters, "files", "emb3.a1111.pt") + ":<emb3>", "--clip-skip", "1", "--out", output);
        Assert.True(code == 0, error);
        var png = PngDecoder.Load(output);
        Assert.Equal((64, 64), (png.Image.Width, png.Image.Height));
        var metadata = GenerationMetadata.FromPngText(png.Text)!;
        Assert.Equal("sd-tiny", metadata.ModelName);
        Assert.Equal(1, metadata.ClipSkip);
        var lora = Assert.Single(metadata.Loras!);
        Assert.Equal(("lora_a.kohya", 0.5, Sha256(lora: true)), (lora.Name, lora.Scale, lora.Sha256));
        var embedding = Assert.Single(metadata.Embeddings!);
        Assert.Equal(("<emb3>", "emb3.a1111", Sha256(lora: false)), (embedding.Token, embedding.Name, embedding.Sha256));
        Assert.Contains($"Clip skip: 2, Lora hashes: \"lora_a.kohya: {Sha256(lora: true)[..12]}\"", png.Text[GenerationMetadata.A1111Keyword]);
    }

    private static string Sha256(bool lora) => Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(
        File.ReadAllBytes(Fixtures.PathIn(Fixtures.Adapters, "files", lora ? "lora_a.kohya.safetensors" : "emb3.a1111.pt"))));

    [SkippableFact]
    public async Task An_sdxl_folder_renders_at_its_native_size_with_a_second_prompt()
    {
        var output = Path.Combine(folder, "xl.png");
        var (code, error) = await Cli.Run("render", "--model", Fixtures.Model(Fixtures.SdxlTiny), "--prompt", "a fox", "--prompt-2", "oil painting",
            "--steps", "2", "--scheduler", "euler", "--out", output);
        Assert.True(code == 0, error);
        Assert.Equal(64, PngDecoder.Load(output).Image.Width);
    }

    [SkippableFact]
    public async Task A_malicious_checkpoint_is_one_line_naming_the_call_and_exit_code_2()
    {
        var (code, error) = await Cli.Run("render", "--model", Fixtures.PathIn(Fixtures.SingleFile, "hostile", "evil.ckpt"), "--prompt", "x",
            "--out", Path.Combine(folder, "x.png"));
        Assert.Equal(2, code);
        Assert.Contains("os.system", error);
        Assert.Single(error.Trim().Split('\n'));
    }

    [SkippableFact]
    public async Task A_lora_of_another_family_is_one_line_naming_the_key_and_exit_code_2()
    {
        var (code, error) = await Cli.Run("render", "--model", Fixtures.Model(Fixtures.SdTiny), "--prompt", "x", "--steps", "2",
            "--lora", Fixtures.PathIn(Fixtures.Adapters, "files", "sdxl_lora.kohya.safetensors"), "--out", Path.Combine(folder, "x.png"));
        Assert.Equal(2, code);
        Assert.Contains("another model family", error);
        Assert.Single(error.Trim().Split('\n'));
    }

    [SkippableFact]
    public async Task An_embedding_of_another_width_is_one_line_naming_both_widths_and_exit_code_2()
    {
        var (code, error) = await Cli.Run("render", "--model", Fixtures.Model(Fixtures.SdxlTiny), "--prompt", "a <emb1>", "--steps", "1",
            "--embedding", Fixtures.PathIn(Fixtures.Adapters, "files", "emb1.a1111.pt") + ":<emb1>", "--out", Path.Combine(folder, "x.png"));
        Assert.Equal(2, code);
        Assert.Matches("embedding vectors are [0-9]+ wide but the text encoder's hidden size is [0-9]+", error);
        Assert.Single(error.Trim().Split('\n'));
    }
}

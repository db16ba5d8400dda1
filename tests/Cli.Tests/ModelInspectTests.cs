using System.Text.Json;
using Farm.Testing;

namespace Farm.Cli.Tests;

/// <summary>`farm model inspect` on the single-file fixtures: family, hash and tensor count as the fixture manifests record them.</summary>
[Collection("console")]
public class ModelInspectTests
{
    [SkippableTheory]
    [InlineData("sd-tiny.ckpt", "checkpoint_sd_tiny_ckpt", "SD1", "float32")]
    [InlineData("sdxl-tiny.fp16.safetensors", "checkpoint_sdxl_tiny_fp16_safetensors", "SDXL", "float16")]
    public async Task Inspect_reports_the_family_the_sha256_and_the_stored_tensors(string file, string caseId, string family, string dtype)
    {
        using var manifest = JsonDocument.Parse(File.ReadAllText(Path.Combine(Fixtures.CaseIn(Fixtures.SingleFile, caseId), "manifest.json")));
        var sha = manifest.RootElement.GetProperty("params").GetProperty("checkpoint_sha256").GetString();
        var tensors = manifest.RootElement.GetProperty("key_map").GetArrayLength();

        var (code, error, output) = await Cli.RunCapturingOutput("model", "inspect", Fixtures.PathIn(Fixtures.SingleFile, "checkpoints", file));
        Assert.True(code == 0, error);
        Assert.Contains($"family      {family}", output);
        Assert.Contains($"sha256      {sha}", output);
        Assert.Contains($"tensors     {tensors} stored, {dtype} {tensors}", output);
    }

    [Fact]
    public async Task Inspecting_a_path_that_does_not_exist_is_a_usage_error()
    {
        var (code, error) = await Cli.Run("model", "inspect", "/nonexistent/model.safetensors");
        Assert.Equal(2, code);
        Assert.Contains("does not exist", error);
    }
}

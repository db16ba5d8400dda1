using Farm.GpuWorker.Models;
using Xunit;

namespace Farm.GpuWorker.Tests.Models;

/// <summary>What a worker announces of its adapters: the stems the worker would load by name.</summary>
public sealed class AdapterNamesTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("farm-adapters-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    [Fact]
    public void LoRA_files_and_folders_and_embedding_files_are_announced_by_stem()
    {
        Directory.CreateDirectory(Path.Combine(dir, "loras", "folder-lora"));
        File.WriteAllText(Path.Combine(dir, "loras", "style.safetensors"), "");
        File.WriteAllText(Path.Combine(dir, "loras", "folder-lora", "pytorch_lora_weights.safetensors"), "");
        File.WriteAllText(Path.Combine(dir, "loras", "readme.txt"), "");
        Directory.CreateDirectory(Path.Combine(dir, "embeddings"));
        File.WriteAllText(Path.Combine(dir, "embeddings", "easynegative.pt"), "");
        File.WriteAllText(Path.Combine(dir, "embeddings", "cat.safetensors"), "");
        File.WriteAllText(Path.Combine(dir, "embeddings", "notes.md"), "");

        var names = new AdapterLibrary(dir).Names();
        Assert.Equal(["folder-lora", "style"], names.Loras);
        Assert.Equal(["cat", "easynegative"], names.Embeddings);
        Assert.Equal((0, 0), (new AdapterLibrary(Path.Combine(dir, "missing")).Names().Loras.Count, new AdapterLibrary(Path.Combine(dir, "missing")).Names().Embeddings.Count));
    }
}

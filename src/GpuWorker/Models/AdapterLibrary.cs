using Farm.Diffusion.Pipelines;
using Farm.GpuWorker.Rendering;
using Farm.Shared.Contracts;

namespace Farm.GpuWorker.Models;

/// <summary>
/// LoRAs in <c>DIR/loras/</c> (<c>NAME.safetensors</c>, or a diffusers folder <c>NAME/pytorch_lora_weights.safetensors</c>)
/// and textual-inversion embeddings in <c>DIR/embeddings/</c> (<c>NAME.safetensors</c>, <c>NAME.pt</c>, <c>NAME.bin</c>),
/// named by stem. A job naming one that is not there fails alone, with the name.
/// </summary>
internal sealed class AdapterLibrary(string modelsDirectory)
{
    private static readonly string[] EmbeddingExtensions = [".safetensors", ".pt", ".bin"];

    // By path, size and write time: a replaced file is hashed again.
    private readonly System.Collections.Concurrent.ConcurrentDictionary<(string, long, DateTime), Lazy<Task<string>>> hashes = new();

    public string LorasDirectory { get; } = Path.Combine(modelsDirectory, "loras");

    public string EmbeddingsDirectory { get; } = Path.Combine(modelsDirectory, "embeddings");

    /// <summary>The stems of the LoRAs and embeddings present now.</summary>
    public WorkerAdapters Names()
    {
        IEnumerable<string> loras = Directory.Exists(LorasDirectory)
            ? Directory.EnumerateFiles(LorasDirectory, "*.safetensors").Select(f => Path.GetFileNameWithoutExtension(f))
                .Concat(Directory.EnumerateDirectories(LorasDirectory).Where(d => File.Exists(Path.Combine(d, "pytorch_lora_weights.safetensors"))).Select(d => Path.GetFileName(d)))
            : [];
        IEnumerable<string> embeddings = Directory.Exists(EmbeddingsDirectory)
            ? Directory.EnumerateFiles(EmbeddingsDirectory).Where(f => EmbeddingExtensions.Contains(Path.GetExtension(f))).Select(f => Path.GetFileNameWithoutExtension(f))
            : [];
        return new WorkerAdapters([.. loras.Distinct().Order(StringComparer.Ordinal)], [.. embeddings.Distinct().Order(StringComparer.Ordinal)]);
    }

    public IReadOnlyList<LoraReference> Loras(IEnumerable<JobLora>? loras) =>
        (loras ?? []).Select(l => new LoraReference(LoraPath(l.Name), l.Scale, l.Name)).ToList();

    public IReadOnlyList<EmbeddingReference> Embeddings(IEnumerable<string>? names) =>
        (names ?? []).Select(n => new EmbeddingReference(EmbeddingPath(n), n)).ToList();

    /// <summary>The LoRA's file, or null when it is not here (or the name is not a plain file name).</summary>
    public string? FindLora(string name) => OrNull(() => LoraPath(name));

    public string? FindEmbedding(string name) => OrNull(() => EmbeddingPath(name));

    /// <summary>The file's SHA-256 (64 hex digits), computed once per version of the file.</summary>
    public Task<string> Sha256Async(string file, CancellationToken cancellation)
    {
        var info = new FileInfo(file);
        var hash = hashes.GetOrAdd((info.FullName, info.Length, info.LastWriteTimeUtc), _ => new Lazy<Task<string>>(async () =>
        {
            await using var stream = File.OpenRead(file);
            return Convert.ToHexStringLower(await System.Security.Cryptography.SHA256.HashDataAsync(stream));
        }));
        return hash.Value.WaitAsync(cancellation);
    }

    private static string? OrNull(Func<string> find)
    {
        try
        {
            return find();
        }
        catch (RenderRejectedException)
        {
            return null;
        }
    }

    private string LoraPath(string name)
    {
        RequirePlainName(name, "LoRA");
        var file = Path.Combine(LorasDirectory, name + ".safetensors");
        if (File.Exists(file)) return file;
        var diffusers = Path.Combine(LorasDirectory, name, "pytorch_lora_weights.safetensors");
        if (File.Exists(diffusers)) return diffusers;
        throw new RenderRejectedException($"LoRA '{name}' is not on this worker (looked for {file})");
    }

    private string EmbeddingPath(string name)
    {
        RequirePlainName(name, "embedding");
        foreach (var extension in EmbeddingExtensions)
        {
            var file = Path.Combine(EmbeddingsDirectory, name + extension);
            if (File.Exists(file)) return file;
        }
        throw new RenderRejectedException($"embedding '{name}' is not on this worker (looked for {Path.Combine(EmbeddingsDirectory, name)}.safetensors/.pt/.bin)");
    }

    // A name is a file stem: no path separators or parent references, so a job cannot reach outside the folder.
    private static void RequirePlainName(string name, string what)
    {
        if (string.IsNullOrWhiteSpace(name) || name.Contains('/') || name.Contains('\\') || name.Contains("..") || name != name.Trim())
            throw new RenderRejectedException($"{what} name '{name}' is not a plain file name");
    }
}

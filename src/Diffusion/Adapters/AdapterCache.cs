using System.Security.Cryptography;
using Farm.Diffusion.Imaging;
using Farm.Diffusion.Pipelines;

namespace Farm.Diffusion.Adapters;

/// <summary>
/// Keeps recently used LoRA and embedding files parsed (least recently used evicted; a file that changed on disk is
/// read again) and applies a render's <see cref="RenderRequest.Loras"/> and <see cref="RenderRequest.Embeddings"/>
/// to a warm pipeline's models:
/// <code>using var adapters = cache.Apply(request.Loras, request.Embeddings, targets);</code>
/// Thread-safe. Applying holds the cache lock only while it resolves and copies the small LoRA tensors; the scope it
/// returns owns its copies, so evicting a file never affects a render in progress. One scope at a time per model.
/// </summary>
internal sealed class AdapterCache(int maxLoraFiles = 8, int maxEmbeddingFiles = 64) : IDisposable
{
    private readonly object gate = new();
    private readonly LinkedList<(FileIdentity Id, LoraFile File)> loras = new();
    private readonly LinkedList<(FileIdentity Id, TextualInversionEmbedding Embedding)> embeddings = new();
    private readonly Dictionary<FileIdentity, string> fileHashes = new();

    public int CachedLoraFiles { get { lock (gate) return loras.Count; } }

    /// <summary>
    /// Attaches the LoRAs (each <see cref="LoraReference.Scale"/> is its adapter weight; <paramref name="loraScale"/> is
    /// diffusers' <c>cross_attention_kwargs["scale"]</c> on top, 1 by default) and the embeddings (to every text encoder).
    /// Any error (missing file, unknown key, wrong shape or width) is thrown before anything stays attached.
    /// </summary>
    public AdapterScope Apply(IReadOnlyList<LoraReference> loraReferences, IReadOnlyList<EmbeddingReference> embeddingReferences,
        AdapterTargets targets, double loraScale = 1.0)
    {
        AppliedLoras? appliedLoras = null;
        var appliedEmbeddings = new List<AppliedEmbeddings>();
        try
        {
            List<EmbeddingActivation> activations;
            List<LoraMetadata> loraRecords;
            List<EmbeddingMetadata> embeddingRecords;
            lock (gate)
            {
                var loraActivations = loraReferences.Select(r => new LoraActivation(Lora(r.Path), r.Scale)).ToList();
                appliedLoras = loraActivations.Count == 0 ? AppliedLoras.None : AppliedLoras.Apply(loraActivations, targets.LoraModels, loraScale);
                activations = embeddingReferences.Select(r => new EmbeddingActivation(Embedding(r.Path), r.Token)).ToList();
                loraRecords = loraReferences.Select(r => new LoraMetadata(r.Name ?? Stem(r.Path), r.Scale, Sha256(r.Path))).ToList();
                embeddingRecords = embeddingReferences.Select(r => new EmbeddingMetadata(r.Token ?? Stem(r.Path), Stem(r.Path), Sha256(r.Path))).ToList();
            }
            var encoders = targets.TextEncoders;
            for (var i = 0; i < encoders.Count; i++)
            {
                var forEncoder = activations.Select(a => a with { Embedding = a.Embedding.ForEncoder(i, encoders.Count) }).ToList();
                appliedEmbeddings.Add(AppliedEmbeddings.Apply(forEncoder, encoders[i].Model, encoders[i].Tokenizer));
            }
            return new AdapterScope(appliedLoras, appliedEmbeddings, loraRecords, embeddingRecords);
        }
        catch
        {
            foreach (var e in appliedEmbeddings) e.Dispose();
            appliedLoras?.Dispose();
            throw;
        }
    }

    /// <summary>The parsed LoRA file (cached). Call under the lock: an evicted file is disposed.</summary>
    private LoraFile Lora(string path)
    {
        var id = FileIdentity.Of(path);
        for (var node = loras.First; node is not null; node = node.Next)
        {
            if (node.Value.Id.Path != id.Path) continue;
            loras.Remove(node);
            if (node.Value.Id == id)
            {
                loras.AddFirst(node);
                return node.Value.File;
            }
            node.Value.File.Dispose(); // changed on disk
            break;
        }
        var file = LoraFile.Load(path);
        loras.AddFirst((id, file));
        while (loras.Count > Math.Max(1, maxLoraFiles))
        {
            loras.Last!.Value.File.Dispose();
            loras.RemoveLast();
        }
        return file;
    }

    private TextualInversionEmbedding Embedding(string path)
    {
        var id = FileIdentity.Of(path);
        for (var node = embeddings.First; node is not null; node = node.Next)
        {
            if (node.Value.Id.Path != id.Path) continue;
            embeddings.Remove(node);
            if (node.Value.Id == id)
            {
                embeddings.AddFirst(node);
                return node.Value.Embedding;
            }
            break;
        }
        var embedding = TextualInversionEmbedding.Load(path);
        embeddings.AddFirst((id, embedding));
        while (embeddings.Count > Math.Max(1, maxEmbeddingFiles)) embeddings.RemoveLast();
        return embedding;
    }

    private static string Stem(string path) => Path.GetFileNameWithoutExtension(path);

    /// <summary>The SHA-256 of an adapter file as it is now, hashed once per file version.</summary>
    private string Sha256(string path)
    {
        var id = FileIdentity.Of(path);
        if (fileHashes.TryGetValue(id, out var hash)) return hash;
        if (fileHashes.Count >= 4 * (maxLoraFiles + maxEmbeddingFiles)) fileHashes.Clear();
        using (var stream = File.OpenRead(path)) hash = Convert.ToHexStringLower(SHA256.HashData(stream));
        return fileHashes[id] = hash;
    }

    public void Dispose()
    {
        lock (gate)
        {
            foreach (var (_, file) in loras) file.Dispose();
            loras.Clear();
            embeddings.Clear();
            fileHashes.Clear();
        }
    }

    /// <summary>A file as it is now: a different size or write time means it was replaced and is read again.</summary>
    private readonly record struct FileIdentity(string Path, long Length, DateTime LastWriteUtc)
    {
        public static FileIdentity Of(string path)
        {
            var info = new FileInfo(System.IO.Path.GetFullPath(path));
            if (info.ResolveLinkTarget(returnFinalTarget: true) is FileInfo target) info = target; // a link's own size is its target's name
            if (!info.Exists) throw new FileNotFoundException($"adapter file not found: {path}", path);
            return new FileIdentity(info.FullName, info.Length, info.LastWriteTimeUtc);
        }
    }
}

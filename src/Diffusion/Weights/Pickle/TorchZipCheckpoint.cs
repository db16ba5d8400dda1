using System.IO.Compression;
using Farm.Diffusion.Torch;

namespace Farm.Diffusion.Weights.Pickle;

/// <summary>
/// A file written by <c>torch.save</c> (PyTorch ≥ 1.6: a zip holding <c>&lt;name&gt;/data.pkl</c> and one
/// <c>&lt;name&gt;/data/&lt;key&gt;</c> entry per storage): <c>.ckpt</c> checkpoints and A1111 <c>.pt</c> embeddings.
/// The pickle is read by <see cref="RestrictedUnpickler"/>; tensors are read from their storages on demand.
/// </summary>
internal sealed class TorchZipCheckpoint : IDisposable
{
    private const long MaxPickleBytes = 1L << 30;

    private readonly ZipArchive archive;
    private readonly string prefix;

    private TorchZipCheckpoint(string path, ZipArchive archive, string prefix, object? root)
    {
        Path = path;
        this.archive = archive;
        this.prefix = prefix;
        Root = root;
    }

    public string Path { get; }

    /// <summary>The unpickled object: dictionaries, lists, <see cref="PickleTuple"/>s, strings, longs, doubles, <see cref="TorchTensorRef"/>s.</summary>
    public object? Root { get; }

    /// <exception cref="UnsafeCheckpointException">The pickle names a global outside the allowlist.</exception>
    /// <exception cref="InvalidDataException">Not a torch zip, truncated, or malformed; the message names the file.</exception>
    public static TorchZipCheckpoint Open(string path)
    {
        var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        try
        {
            var magic = new byte[4];
            var read = stream.ReadAtLeast(magic, 4, throwOnEndOfStream: false);
            stream.Position = 0;
            if (read < 4 || magic[0] != 'P' || magic[1] != 'K')
                throw new InvalidDataException(read >= 2 && magic[0] == 0x80
                    ? $"{path}: a checkpoint in PyTorch's legacy format (before 1.6) is not supported; save it again with a current PyTorch or convert it to .safetensors"
                    : $"{path}: not a PyTorch checkpoint (a .ckpt/.pt is a zip archive written by torch.save)");
            ZipArchive archive;
            try
            {
                archive = new ZipArchive(stream, ZipArchiveMode.Read, leaveOpen: false);
            }
            catch (InvalidDataException e)
            {
                throw new InvalidDataException($"{path}: truncated or not a complete zip archive ({e.Message}); the download was probably interrupted, download it again", e);
            }
            try
            {
                var pickle = archive.Entries.FirstOrDefault(e => e.FullName == "data.pkl" || e.FullName.EndsWith("/data.pkl", StringComparison.Ordinal))
                    ?? throw new InvalidDataException($"{path}: no data.pkl inside: not a torch.save checkpoint");
                var entryPrefix = pickle.FullName[..^"data.pkl".Length];
                if (archive.GetEntry(entryPrefix + "byteorder") is { } order && ReadAll(path, order, 16) is var bytes && System.Text.Encoding.ASCII.GetString(bytes).Trim() != "little")
                    throw new InvalidDataException($"{path}: a big-endian checkpoint is not supported");
                var root = RestrictedUnpickler.Load(path, ReadAll(path, pickle, MaxPickleBytes));
                return new TorchZipCheckpoint(path, archive, entryPrefix, root);
            }
            catch
            {
                archive.Dispose();
                throw;
            }
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    /// <summary>A new CPU tensor with the values of <paramref name="tensor"/> in its stored dtype.</summary>
    public Tensor ReadTensor(TorchTensorRef tensor)
    {
        var storage = tensor.Storage;
        var elementSize = storage.Type.ElementSize();
        var entry = archive.GetEntry(prefix + "data/" + storage.Key)
            ?? throw new InvalidDataException($"{Path}: storage data/{storage.Key} is missing: the file is truncated or corrupt; download it again");
        var bytes = ReadAll(Path, entry, checked(storage.ElementCount * elementSize));
        if (bytes.Length < storage.ElementCount * elementSize)
            throw new InvalidDataException($"{Path}: storage data/{storage.Key} holds {bytes.Length} bytes, {storage.ElementCount * elementSize} expected: the file is truncated; download it again");
        var count = tensor.ElementCount;
        if (tensor.IsContiguous)
            return torch.from_bytes(bytes.AsSpan((int)(tensor.Offset * elementSize), (int)(count * elementSize)), storage.Type, tensor.Size);
        return torch.from_bytes(Gather(bytes, tensor, elementSize), storage.Type, tensor.Size);
    }

    /// <summary>The elements of a strided view, in row-major order.</summary>
    private static byte[] Gather(byte[] storage, TorchTensorRef tensor, int elementSize)
    {
        var result = new byte[tensor.ElementCount * elementSize];
        var index = new long[tensor.Size.Length];
        for (long i = 0; i < tensor.ElementCount; i++)
        {
            long source = tensor.Offset;
            for (var d = 0; d < index.Length; d++) source += index[d] * tensor.Stride[d];
            Buffer.BlockCopy(storage, (int)(source * elementSize), result, (int)(i * elementSize), elementSize);
            for (var d = index.Length - 1; d >= 0 && ++index[d] == tensor.Size[d]; d--) index[d] = 0;
        }
        return result;
    }

    private static byte[] ReadAll(string path, ZipArchiveEntry entry, long limit)
    {
        if (entry.Length > limit && limit > 0 && entry.Length > int.MaxValue)
            throw new InvalidDataException($"{path}: entry {entry.FullName} is too large ({entry.Length} bytes)");
        var length = (int)Math.Min(entry.Length, limit);
        var buffer = new byte[length];
        try
        {
            using var stream = entry.Open();
            var read = stream.ReadAtLeast(buffer, length, throwOnEndOfStream: false);
            return read == length ? buffer : buffer[..read];
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"{path}: entry {entry.FullName} cannot be read ({e.Message}): the file is truncated or corrupt; download it again", e);
        }
    }

    public void Dispose() => archive.Dispose();
}

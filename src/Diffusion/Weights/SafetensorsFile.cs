using System.IO.MemoryMappedFiles;
using System.Runtime.InteropServices;
using System.Text.Json;

namespace Farm.Diffusion.Weights;

/// <summary>
/// A memory-mapped, read-only safetensors file: an 8-byte little-endian header length, a JSON
/// header (<c>dtype</c>, <c>shape</c>, <c>data_offsets</c> per tensor, optional <c>__metadata__</c>)
/// and the raw little-endian data. Tensor bytes are exposed in place, never copied. Files come
/// from users, so the header is validated strictly.
/// </summary>
internal sealed unsafe class SafetensorsFile : IDisposable
{
    // The reference implementation refuses headers above 100 MB; so do we.
    private const long MaxHeaderLength = 100_000_000;

    private readonly MemoryMappedFile map;
    private readonly MemoryMappedViewAccessor view;
    private readonly byte* basePointer;
    private readonly Dictionary<string, SafetensorsTensorInfo> byName;
    private bool disposed;

    public string Path { get; }
    public long FileLength { get; }
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>The tensors in file order (by data offset).</summary>
    public IReadOnlyList<SafetensorsTensorInfo> Tensors { get; }

    private SafetensorsFile(string path, long length, MemoryMappedFile map, MemoryMappedViewAccessor view, byte* basePointer,
        IReadOnlyList<SafetensorsTensorInfo> tensors, IReadOnlyDictionary<string, string> metadata)
    {
        Path = path;
        FileLength = length;
        this.map = map;
        this.view = view;
        this.basePointer = basePointer;
        Tensors = tensors;
        Metadata = metadata;
        byName = tensors.ToDictionary(t => t.Name, StringComparer.Ordinal);
    }

    public static SafetensorsFile Open(string path)
    {
        // Sized by the opened file, never by the path: a symbolic link's own length is that of its target's name.
        var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read); // FileNotFoundException names the path
        var length = stream.Length;
        if (length < 8)
        {
            stream.Dispose();
            throw Invalid(path, $"file is {length} bytes, shorter than the 8-byte header length");
        }

        var map = MemoryMappedFile.CreateFromFile(stream, null, 0, MemoryMappedFileAccess.Read, HandleInheritability.None, leaveOpen: false);
        MemoryMappedViewAccessor? view = null;
        var acquired = false;
        try
        {
            view = map.CreateViewAccessor(0, length, MemoryMappedFileAccess.Read);
            byte* pointer = null;
            view.SafeMemoryMappedViewHandle.AcquirePointer(ref pointer);
            acquired = true;
            pointer += view.PointerOffset;
            var (tensors, metadata) = ParseHeader(path, new ReadOnlySpan<byte>(pointer, (int)Math.Min(length, int.MaxValue)), length);
            return new SafetensorsFile(path, length, map, view, pointer, tensors, metadata);
        }
        catch
        {
            if (acquired) view!.SafeMemoryMappedViewHandle.ReleasePointer();
            view?.Dispose();
            map.Dispose();
            throw;
        }
    }

    public bool Contains(string name) => byName.ContainsKey(name);

    public SafetensorsTensorInfo this[string name] =>
        byName.TryGetValue(name, out var info) ? info : throw new KeyNotFoundException($"{Path}: no tensor named '{name}'");

    /// <summary>The raw little-endian bytes of a tensor, valid until this file is disposed.</summary>
    public ReadOnlySpan<byte> GetBytes(string name)
    {
        var info = this[name];
        if (info.ByteLength > int.MaxValue) throw new NotSupportedException($"{Path}: tensor '{name}' exceeds 2 GiB; use GetPointer");
        return new ReadOnlySpan<byte>(GetPointer(info), (int)info.ByteLength);
    }

    /// <summary>Pointer to a tensor's bytes (for handing to native code without a copy).</summary>
    public nint GetPointer(string name, out long byteLength)
    {
        var info = this[name];
        byteLength = info.ByteLength;
        return (nint)GetPointer(info);
    }

    private byte* GetPointer(SafetensorsTensorInfo info)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        return basePointer + info.FileOffset;
    }

    /// <summary>
    /// Drops a tensor's mapped pages from this process's resident memory once its bytes have been copied out, so
    /// loading a multi-gigabyte file never holds the file and the converted weights at once (the pages stay in the
    /// page cache; reading the tensor again maps them back). Pages shared with a neighbouring tensor are kept.
    /// </summary>
    public void ReleasePages(string name)
    {
        if (!OperatingSystem.IsLinux()) return;
        var info = this[name];
        long pageSize = Environment.SystemPageSize;
        var start = (long)GetPointer(info);
        var first = (start + pageSize - 1) / pageSize * pageSize;
        var end = (start + info.ByteLength) / pageSize * pageSize;
        if (end > first) _ = madvise((nint)first, (nuint)(end - first), MadviseDontNeed);
    }

    private const int MadviseDontNeed = 4;

    [DllImport("libc", SetLastError = true)]
    private static extern int madvise(nint address, nuint length, int advice);

    /// <summary>Copies a floating-point tensor out as float32 (F32, F16 and BF16 are accepted).</summary>
    public float[] ReadFloat32(string name)
    {
        var info = this[name];
        var bytes = GetBytes(name);
        var result = new float[info.ElementCount];
        switch (info.DType)
        {
            case SafetensorsDType.F32:
                MemoryMarshal.Cast<byte, float>(bytes).CopyTo(result);
                break;
            case SafetensorsDType.F16:
                var halves = MemoryMarshal.Cast<byte, Half>(bytes);
                for (var i = 0; i < result.Length; i++) result[i] = (float)halves[i];
                break;
            case SafetensorsDType.BF16:
                var raw = MemoryMarshal.Cast<byte, ushort>(bytes);
                for (var i = 0; i < result.Length; i++) result[i] = BitConverter.Int32BitsToSingle(raw[i] << 16);
                break;
            default:
                throw WrongType(info, "F32, F16 or BF16");
        }
        return result;
    }

    public long[] ReadInt64(string name) => Read<long>(name, SafetensorsDType.I64);

    public int[] ReadInt32(string name) => Read<int>(name, SafetensorsDType.I32);

    public byte[] ReadUInt8(string name) => Read<byte>(name, SafetensorsDType.U8);

    private T[] Read<T>(string name, SafetensorsDType expected) where T : unmanaged
    {
        var info = this[name];
        if (info.DType != expected) throw WrongType(info, expected.HeaderName());
        return MemoryMarshal.Cast<byte, T>(GetBytes(name)).ToArray();
    }

    private InvalidOperationException WrongType(SafetensorsTensorInfo info, string expected) =>
        new($"{Path}: tensor '{info.Name}' is {info.DType.HeaderName()}, expected {expected}");

    public void Dispose()
    {
        if (disposed) return;
        disposed = true;
        view.SafeMemoryMappedViewHandle.ReleasePointer();
        view.Dispose();
        map.Dispose();
    }

    private static (List<SafetensorsTensorInfo>, Dictionary<string, string>) ParseHeader(string path, ReadOnlySpan<byte> file, long fileLength)
    {
        var headerLength = (long)BitConverter.ToUInt64(file[..8]);
        if (headerLength > MaxHeaderLength || 8 + headerLength > fileLength)
            throw Invalid(path, $"header length {headerLength} does not fit the file ({fileLength} bytes)");
        var dataStart = 8 + headerLength;
        var dataLength = fileLength - dataStart;

        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(file.Slice(8, (int)headerLength).ToArray());
        }
        catch (JsonException e)
        {
            throw Invalid(path, $"header is not valid JSON: {e.Message}");
        }

        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object) throw Invalid(path, "header is not a JSON object");
            var tensors = new List<SafetensorsTensorInfo>();
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var property in doc.RootElement.EnumerateObject())
            {
                if (property.Name == "__metadata__")
                {
                    if (property.Value.ValueKind != JsonValueKind.Object) throw Invalid(path, "__metadata__ is not an object");
                    foreach (var m in property.Value.EnumerateObject())
                        metadata[m.Name] = m.Value.ValueKind == JsonValueKind.String ? m.Value.GetString()! : m.Value.GetRawText();
                    continue;
                }
                tensors.Add(ParseTensor(path, property, dataStart, dataLength));
            }
            tensors.Sort((a, b) => a.FileOffset.CompareTo(b.FileOffset));
            for (var i = 1; i < tensors.Count; i++)
            {
                if (tensors[i].FileOffset < tensors[i - 1].FileOffset + tensors[i - 1].ByteLength)
                    throw Invalid(path, $"tensors '{tensors[i - 1].Name}' and '{tensors[i].Name}' overlap");
            }
            return (tensors, metadata);
        }
    }

    private static SafetensorsTensorInfo ParseTensor(string path, JsonProperty property, long dataStart, long dataLength)
    {
        var name = property.Name;
        var entry = property.Value;
        if (entry.ValueKind != JsonValueKind.Object
            || !entry.TryGetProperty("dtype", out var dtypeElement) || dtypeElement.ValueKind != JsonValueKind.String
            || !entry.TryGetProperty("shape", out var shapeElement) || shapeElement.ValueKind != JsonValueKind.Array
            || !entry.TryGetProperty("data_offsets", out var offsetsElement) || offsetsElement.ValueKind != JsonValueKind.Array
            || offsetsElement.GetArrayLength() != 2)
        {
            throw Invalid(path, $"tensor '{name}' needs dtype, shape and data_offsets [begin, end]");
        }

        var dtypeName = dtypeElement.GetString()!;
        if (!SafetensorsDTypeExtensions.TryParse(dtypeName, out var dtype))
            throw Invalid(path, $"tensor '{name}' has unknown dtype '{dtypeName}'");

        var shape = new long[shapeElement.GetArrayLength()];
        var i = 0;
        foreach (var dim in shapeElement.EnumerateArray())
        {
            if (dim.ValueKind != JsonValueKind.Number || !dim.TryGetInt64(out var d) || d < 0)
                throw Invalid(path, $"tensor '{name}' has an invalid shape");
            shape[i++] = d;
        }

        var begin = offsetsElement[0].TryGetInt64(out var b) ? b : -1;
        var end = offsetsElement[1].TryGetInt64(out var e) ? e : -1;
        if (begin < 0 || end < begin || end > dataLength)
            throw Invalid(path, $"tensor '{name}' data_offsets [{begin}, {end}] fall outside the {dataLength}-byte data section");

        var elements = shape.Aggregate(1L, (x, y) => x * y);
        if (end - begin != elements * dtype.ElementSize())
            throw Invalid(path, $"tensor '{name}' holds {end - begin} bytes but {dtypeName}[{string.Join(", ", shape)}] needs {elements * dtype.ElementSize()}");

        return new SafetensorsTensorInfo(name, dtype, shape, dataStart + begin, end - begin);
    }

    private static InvalidDataException Invalid(string path, string why) => new($"{path}: not a valid safetensors file: {why}");
}

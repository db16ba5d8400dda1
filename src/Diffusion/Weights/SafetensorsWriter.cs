using System.Text.Json;

namespace Farm.Diffusion.Weights;

/// <summary>Writes safetensors files (tensors laid out in the given order, header padded to 8 bytes).</summary>
internal static class SafetensorsWriter
{
    public static void Write(string path,
        IEnumerable<(string Name, SafetensorsDType DType, long[] Shape, ReadOnlyMemory<byte> Data)> tensors,
        IReadOnlyDictionary<string, string>? metadata = null)
    {
        var list = tensors.ToList();
        var names = new HashSet<string>(StringComparer.Ordinal);
        using var header = new MemoryStream();
        using (var json = new Utf8JsonWriter(header))
        {
            json.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                json.WriteStartObject("__metadata__");
                foreach (var (key, value) in metadata) json.WriteString(key, value);
                json.WriteEndObject();
            }
            long offset = 0;
            foreach (var (name, dtype, shape, data) in list)
            {
                if (name == "__metadata__" || !names.Add(name)) throw new ArgumentException($"duplicate or reserved tensor name '{name}'");
                var expected = shape.Aggregate(1L, (a, b) => a * b) * dtype.ElementSize();
                if (data.Length != expected)
                    throw new ArgumentException($"tensor '{name}': {data.Length} bytes given, {dtype.HeaderName()}[{string.Join(", ", shape)}] needs {expected}");
                json.WriteStartObject(name);
                json.WriteString("dtype", dtype.HeaderName());
                json.WriteStartArray("shape");
                foreach (var d in shape) json.WriteNumberValue(d);
                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                json.WriteNumberValue(offset + data.Length);
                json.WriteEndArray();
                json.WriteEndObject();
                offset += data.Length;
            }
            json.WriteEndObject();
        }
        while (header.Length % 8 != 0) header.WriteByte((byte)' ');

        using var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16);
        Span<byte> length = stackalloc byte[8];
        BitConverter.TryWriteBytes(length, (ulong)header.Length);
        file.Write(length);
        header.Position = 0;
        header.CopyTo(file);
        foreach (var tensor in list) file.Write(tensor.Data.Span);
    }
}

using System.Text.Json;

namespace Farm.Diffusion.Models.Blocks;

/// <summary>
/// Reads diffusers' <c>config.json</c> values: an absent key or a JSON null takes diffusers' default, and keys that
/// accept "an int or one per block" are expanded to one value per block.
/// </summary>
internal sealed class ConfigJson
{
    private readonly JsonElement root;

    private ConfigJson(string source, JsonElement root)
    {
        Source = source;
        this.root = root;
    }

    public string Source { get; }

    public static ConfigJson Parse(string json, string source)
    {
        using var document = JsonDocument.Parse(json);
        if (document.RootElement.ValueKind != JsonValueKind.Object) throw new InvalidDataException($"{source}: config is not a JSON object");
        return new ConfigJson(source, document.RootElement.Clone());
    }

    public bool Has(string key) => root.TryGetProperty(key, out var value) && value.ValueKind != JsonValueKind.Null;

    public bool IsNull(string key) => root.TryGetProperty(key, out var value) && value.ValueKind == JsonValueKind.Null;

    private JsonElement? Get(string key) => root.TryGetProperty(key, out var value) && value.ValueKind != JsonValueKind.Null ? value : null;

    public int Int(string key, int fallback) => Get(key) is { } v ? Read(key, () => v.GetInt32()) : fallback;

    public double Double(string key, double fallback) => Get(key) is { } v ? Read(key, () => v.GetDouble()) : fallback;

    public bool Bool(string key, bool fallback) => Get(key) is { } v ? Read(key, () => v.GetBoolean()) : fallback;

    public string? String(string key, string? fallback) => Get(key) is { } v ? Read(key, () => v.GetString()) : fallback;

    public int[] Ints(string key, int[] fallback) =>
        Get(key) is { } v ? Read(key, () => v.EnumerateArray().Select(e => e.GetInt32()).ToArray()) : fallback;

    public string[] Strings(string key, string[] fallback) =>
        Get(key) is { } v ? Read(key, () => v.EnumerateArray().Select(e => e.GetString() ?? throw new FormatException()).ToArray()) : fallback;

    /// <summary>A value that diffusers accepts as one number for every block or as a list with one per block.</summary>
    public int[] IntPerBlock(string key, int fallback, int blocks)
    {
        if (Get(key) is not { } v) return Enumerable.Repeat(fallback, blocks).ToArray();
        if (v.ValueKind == JsonValueKind.Number) return Enumerable.Repeat(Read(key, () => v.GetInt32()), blocks).ToArray();
        var list = Ints(key, []);
        if (list.Length != blocks) throw new InvalidDataException($"{Source}: '{key}' has {list.Length} values, expected one per block ({blocks})");
        return list;
    }

    public bool[] BoolPerBlock(string key, bool fallback, int blocks)
    {
        if (Get(key) is not { } v) return Enumerable.Repeat(fallback, blocks).ToArray();
        if (v.ValueKind is JsonValueKind.True or JsonValueKind.False) return Enumerable.Repeat(v.GetBoolean(), blocks).ToArray();
        var list = Read(key, () => v.EnumerateArray().Select(e => e.GetBoolean()).ToArray());
        if (list.Length != blocks) throw new InvalidDataException($"{Source}: '{key}' has {list.Length} values, expected one per block ({blocks})");
        return list;
    }

    /// <summary>Rejects a key whose value would change the architecture in a way Farm does not implement.</summary>
    public void RequireAbsent(string key)
    {
        if (Get(key) is { } v) throw new NotSupportedException($"{Source}: '{key}' = {v.GetRawText()} is not supported");
    }

    public void Require(string key, string expected)
    {
        if (Get(key) is { } v && (v.ValueKind != JsonValueKind.String || v.GetString() != expected))
            throw new NotSupportedException($"{Source}: '{key}' = {v.GetRawText()} is not supported (only \"{expected}\")");
    }

    public void Require(string key, bool expected)
    {
        if (Get(key) is { } v && (v.ValueKind is not (JsonValueKind.True or JsonValueKind.False) || v.GetBoolean() != expected))
            throw new NotSupportedException($"{Source}: '{key}' = {v.GetRawText()} is not supported (only {(expected ? "true" : "false")})");
    }

    public void Require(string key, double expected)
    {
        if (Get(key) is { } v && (v.ValueKind != JsonValueKind.Number || v.GetDouble() != expected))
            throw new NotSupportedException($"{Source}: '{key}' = {v.GetRawText()} is not supported (only {expected})");
    }

    private T Read<T>(string key, Func<T> read)
    {
        try
        {
            return read();
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException)
        {
            throw new InvalidDataException($"{Source}: '{key}' has an unexpected value {root.GetProperty(key).GetRawText()}", e);
        }
    }
}

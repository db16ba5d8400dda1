using System.Text.Json;
using System.Text.Json.Serialization;

namespace Farm.Shared.Contracts;

/// <summary>One JSON dialect for everything Farm writes (progress events, heartbeats, records, the API): camelCase, no nulls.</summary>
public static class FarmJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static string Serialize<T>(T value) => JsonSerializer.Serialize(value, Options);

    public static T Deserialize<T>(string json) => JsonSerializer.Deserialize<T>(json, Options)
        ?? throw new JsonException($"null where a {typeof(T).Name} was expected");
}

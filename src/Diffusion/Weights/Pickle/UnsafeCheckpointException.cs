namespace Farm.Diffusion.Weights.Pickle;

/// <summary>A checkpoint whose pickle asks for something a file of weights never needs; nothing in it was run.</summary>
public sealed class UnsafeCheckpointException(string path, string forbidden)
    : IOException(
        $"{path}: refused: its pickle calls {forbidden}, which a checkpoint of weights never needs, so the file may be malicious. " +
        "Nothing in it was run. Use a .safetensors copy of this model, or one from a source you trust.")
{
    public string Path { get; } = path;

    /// <summary>The refused global or opcode, e.g. <c>os.system</c>.</summary>
    public string Forbidden { get; } = forbidden;
}

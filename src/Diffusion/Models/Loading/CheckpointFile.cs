using Farm.Diffusion.Weights;

namespace Farm.Diffusion.Models.Loading;

/// <summary>Opens a single-file checkpoint's flat state dict in its stored layout, by container.</summary>
internal static class CheckpointFile
{
    public static bool IsCheckpoint(string path) =>
        Path.GetExtension(path).ToLowerInvariant() is ".safetensors" or ".ckpt";

    /// <summary>The stored tensors under their stored keys; the caller disposes the result.</summary>
    public static IWeightSource OpenStored(string path) => Path.GetExtension(path).ToLowerInvariant() switch
    {
        ".safetensors" => SafetensorsWeights.Open(path),
        ".ckpt" => throw new NotSupportedException(
            $"{path}: reading .ckpt (pickle) checkpoints needs the restricted pickle reader, which is not in this build yet; convert the file to .safetensors"),
        var ext => throw new InvalidDataException($"{path}: '{ext}' is not a checkpoint format Farm reads (.safetensors or .ckpt)"),
    };
}

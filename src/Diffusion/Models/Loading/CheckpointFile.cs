using Farm.Diffusion.Weights;
using Farm.Diffusion.Weights.Pickle;

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
        ".ckpt" => CkptWeights.Open(path), // restricted unpickler: never runs the file's code
        var ext => throw new InvalidDataException($"{path}: '{ext}' is not a checkpoint format Farm reads (.safetensors or .ckpt)"),
    };
}

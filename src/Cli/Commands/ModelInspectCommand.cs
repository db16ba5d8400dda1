using System.Text.Json;
using Farm.Diffusion.Models;
using Farm.Diffusion.Models.Loading;
using Farm.Diffusion.Weights;
using Farm.Diffusion.Weights.Pickle;

namespace Farm.Cli.Commands;

/// <summary>
/// `farm model inspect PATH [--config DIR]`: what a model folder or checkpoint file is (family, prediction type,
/// native size, channels, text encoder widths, SHA-256, stored tensors and dtypes); for a LoRA, its base family.
/// </summary>
internal static class ModelInspectCommand
{
    public static int Run(string path, string? configDir)
    {
        if (File.Exists(path) && CheckpointFile.IsCheckpoint(path) && InspectLora(path)) return 0;
        using var source = ModelSource.Open(path, configDir);
        var unet = JsonDocument.Parse(source.ConfigJson("unet")).RootElement;
        var vae = JsonDocument.Parse(source.ConfigJson("vae")).RootElement;
        var vaeScale = 1 << (Int(vae, "block_out_channels", arrayLength: true, fallback: 1) - 1);
        var native = Int(unet, "sample_size", fallback: 64) * vaeScale;
        var (count, dtypes) = StoredTensors(source);

        Console.WriteLine($"model       {source.Path} ({(source.IsSingleFile ? "single file" : "diffusers folder")})");
        Console.WriteLine($"family      {source.Family}");
        Console.WriteLine($"prediction  {source.PredictionType}");
        Console.WriteLine($"native size {native}x{native}");
        Console.WriteLine($"channels    unet in {Int(unet, "in_channels", fallback: 4)}, out {Int(unet, "out_channels", fallback: 4)}; latent {Int(vae, "latent_channels", fallback: 4)}");
        var text = $"text_encoder {source.TextEncoderConfig.HiddenSize} wide, {source.TextEncoderConfig.NumHiddenLayers} layers";
        if (source.TextEncoder2Config is { } te2) text += $"; text_encoder_2 {te2.HiddenSize} wide, {te2.NumHiddenLayers} layers, projection {te2.ProjectionDim}";
        Console.WriteLine($"text        {text}");
        Console.WriteLine($"sha256      {source.Hash}");
        Console.WriteLine($"tensors     {count} stored, {string.Join(", ", dtypes.OrderByDescending(d => d.Value).Select(d => $"{d.Key} {d.Value}"))}");
        foreach (var component in source.Components.Append("scheduler"))
            Console.WriteLine($"config      {component}: {source.ConfigOrigin(component)}");
        return 0;
    }

    private static bool InspectLora(string path)
    {
        IWeightSource stored = CheckpointFile.OpenStored(path);
        try
        {
            if (!FamilyDetection.IsLora(stored.Keys)) return false;
            var family = FamilyDetection.LoraBaseFamily(stored.Keys, stored.Shape);
            Console.WriteLine($"model       {Path.GetFullPath(path)} (LoRA, {stored.Keys.Count()} tensors)");
            Console.WriteLine($"base family {family?.ToString() ?? "unknown (the keys name no text encoder of known width)"}");
            return true;
        }
        finally
        {
            (stored as IDisposable)?.Dispose();
        }
    }

    private static (int Count, Dictionary<string, int> DTypes) StoredTensors(ModelSource source)
    {
        var dtypes = new Dictionary<string, int>();
        var count = 0;
        void Add(string dtype)
        {
            dtypes[dtype] = dtypes.GetValueOrDefault(dtype) + 1;
            count++;
        }
        var files = source.IsSingleFile
            ? [source.Path]
            : source.Components.Select(c => Path.Combine(source.Path, c)).SelectMany(d => Directory.EnumerateFiles(d, "*.safetensors").Take(1)).ToList();
        foreach (var file in files)
        {
            if (file.EndsWith(".ckpt", StringComparison.OrdinalIgnoreCase))
            {
                using var ckpt = CkptWeights.Open(file);
                foreach (var key in ckpt.Keys) Add(ckpt.StoredType(key).ToString().ToLowerInvariant());
            }
            else
            {
                using var st = SafetensorsFile.Open(file);
                foreach (var t in st.Tensors)
                    Add(t.DType switch { SafetensorsDType.F32 => "float32", SafetensorsDType.F16 => "float16", SafetensorsDType.BF16 => "bfloat16", var d => d.HeaderName() });
            }
        }
        return (count, dtypes);
    }

    private static int Int(JsonElement root, string key, int fallback, bool arrayLength = false) =>
        root.TryGetProperty(key, out var v) ? arrayLength ? (v.ValueKind == JsonValueKind.Array ? v.GetArrayLength() : fallback)
            : v.ValueKind == JsonValueKind.Number ? v.GetInt32() : fallback : fallback;
}

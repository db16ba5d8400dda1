using System.Text.Json;
using Farm.Diffusion.Tests.Golden;
using Farm.Testing;

namespace Farm.Diffusion.Tests.Loading;

/// <summary>The two single-file checkpoint cases: the file, its diffusers folder model and the manifest's key_map.</summary>
internal sealed record CheckpointCase(string CaseId, string File, string FolderModel)
{
    public static CheckpointCase SdTinyCkpt => new("checkpoint_sd_tiny_ckpt",
        Fixtures.PathIn(Fixtures.SingleFile, "checkpoints", "sd-tiny.ckpt"), Fixtures.Model(Fixtures.SdTiny));

    public static CheckpointCase SdxlTinyFp16 => new("checkpoint_sdxl_tiny_fp16_safetensors",
        Fixtures.PathIn(Fixtures.SingleFile, "checkpoints", "sdxl-tiny.fp16.safetensors"), Fixtures.Model(Fixtures.SdxlTiny));

    public static CheckpointCase Named(string caseId) => caseId == SdTinyCkpt.CaseId ? SdTinyCkpt : SdxlTinyFp16;

    /// <summary>One file tensor: its key, shape, the diffusers tensors (<c>component:key</c>) it was made from and the op.</summary>
    public sealed record Entry(string Key, long[] Shape, string[] From, string Op);

    public IReadOnlyList<Entry> KeyMap()
    {
        using var golden = GoldenCase.Open(Fixtures.SingleFile, CaseId);
        return golden.Manifest.RootElement.GetProperty("key_map").EnumerateArray().Select(e => new Entry(
            e.GetProperty("key").GetString()!,
            e.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()).ToArray(),
            e.GetProperty("from").ValueKind == JsonValueKind.Array
                ? e.GetProperty("from").EnumerateArray().Select(f => f.GetString()!).ToArray()
                : [e.GetProperty("from").GetString()!],
            e.GetProperty("op").GetString()!)).ToList();
    }
}

using Farm.Diffusion.Pipelines;
using Farm.Diffusion.Tests.Golden;
using Farm.Diffusion.Tests.Sdxl;
using Farm.Testing;

namespace Farm.Diffusion.Tests.Pipelines;

/// <summary>
/// Whole renders through <see cref="StableDiffusionPipeline.Load"/> the way users load models: single-file checkpoints
/// (with the folder model as --config, since YAML cannot state the tiny models' GroupNorm groups) and LoRAs and
/// embeddings given in the request. Tolerances from the fixture READMEs: per-step latents 1e-4 × max |value|,
/// uint8 images ±1 on at most 0.1% of values.
/// </summary>
[Collection(PipelineCollection.Name)]
public class ModelFormatRenderGoldenTests
{
    public static TheoryData<string, string, string, string, string, string> Cases => new()
    {
        // fixture, case, model (under fixtures/), config folder, LoRAs "file:weight;…", embeddings "file:token;…"
        { Fixtures.SingleFile, "txt2img_sd_tiny_ckpt_eulera_g7_s10_neg", "single-file/checkpoints/sd-tiny.ckpt", "sd-tiny/model", "", "" },
        { Fixtures.SingleFile, "txt2img_sd_tiny_ckpt_pndm_g7.5_s10", "single-file/checkpoints/sd-tiny.ckpt", "sd-tiny/model", "", "" },
        { Fixtures.SingleFile, "txt2img_sdxl_tiny_fp16_euler_g5_s10_neg", "single-file/checkpoints/sdxl-tiny.fp16.safetensors", "sdxl-tiny/model", "", "" },
        { Fixtures.SingleFile, "txt2img_sdxl_tiny_fp16_dpmpp2mkarras_g6_s8_96x64", "single-file/checkpoints/sdxl-tiny.fp16.safetensors", "sdxl-tiny/model", "", "" },
        { Fixtures.Adapters, "lora_kohya_scale0.5", "sd-tiny/model", "", "lora_a.kohya.safetensors:0.5", "" },
        { Fixtures.Adapters, "lora_diffusers_scale1", "sd-tiny/model", "", "lora_a_diffusers/pytorch_lora_weights.safetensors:1", "" },
        { Fixtures.Adapters, "lora_unloaded", "sd-tiny/model", "", "", "" },
        { Fixtures.Adapters, "ti_emb3_a1111_pt", "sd-tiny/model", "", "", "emb3.a1111.pt:<emb3>" },
        { Fixtures.Adapters, "ti_emb1_diffusers", "sd-tiny/model", "", "", "emb1.learned_embeds.safetensors:<emb1>" },
        { Fixtures.Adapters, "sdxl_txt2img_base", "sdxl-tiny/model", "", "", "" },
        { Fixtures.Adapters, "sdxl_lora_kohya_scale1", "sdxl-tiny/model", "", "sdxl_lora.kohya.safetensors:1", "" },
        { Fixtures.Adapters, "sdxl_lora_kohya_scale0", "sdxl-tiny/model", "", "sdxl_lora.kohya.safetensors:0", "" },
    };

    [SkippableTheory]
    [MemberData(nameof(Cases))]
    public void A_render_from_a_user_model_format_reproduces_diffusers(string fixture, string caseId, string model, string config, string loras, string embeddings)
    {
        using var golden = GoldenCase.Open(fixture, caseId);
        var root = Path.GetDirectoryName(Fixtures.Folder(fixture))!;
        var files = Fixtures.PathIn(Fixtures.Adapters, "files");
        var request = SdxlRenderCase.Request(golden) with
        {
            Loras = Pairs(loras).Select(p => new LoraReference(Path.Combine(files, p.File), double.Parse(p.Value, System.Globalization.CultureInfo.InvariantCulture))).ToList(),
            Embeddings = Pairs(embeddings).Select(p => new EmbeddingReference(Path.Combine(files, p.File), p.Value)).ToList(),
        };
        using var pipeline = StableDiffusionPipeline.Load(Path.Combine(root, model), new PipelineOptions { Threads = 2 },
            config.Length == 0 ? null : Path.Combine(root, config));
        GoldenRender.AssertMatches(pipeline, request, golden);
    }

    private static IEnumerable<(string File, string Value)> Pairs(string list) =>
        list.Split(';', StringSplitOptions.RemoveEmptyEntries).Select(p => (p[..p.LastIndexOf(':')], p[(p.LastIndexOf(':') + 1)..]));
}

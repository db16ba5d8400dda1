namespace Farm.Diffusion.Models.Loading;

/// <summary>Tells SD 1.x, SD 2.x and SDXL apart from a diffusers pipeline class or from a single file's keys.</summary>
internal static class FamilyDetection
{
    public const string SdxlOpenClipPrefix = "conditioner.embedders.1.model.";
    public const string SdxlClipPrefix = "conditioner.embedders.0.transformer.";
    public const string Sd2OpenClipPrefix = "cond_stage_model.model.";
    public const string Sd1ClipPrefix = "cond_stage_model.transformer.";

    /// <summary>
    /// The family of a diffusers folder from <c>model_index.json</c>'s <c>_class_name</c>. SD 1.x and 2.x share a
    /// pipeline class; their text encoders differ: SD 2.x's (an OpenCLIP tower in transformers form) uses gelu, SD 1.x's
    /// (OpenAI CLIP ViT-L) quick_gelu, at any width, so tiny test models are told apart too.
    /// </summary>
    public static ModelFamily FromPipelineClass(string pipelineClass, string textEncoderActivation, string where) => pipelineClass switch
    {
        "StableDiffusionXLPipeline" or "StableDiffusionXLImg2ImgPipeline" => ModelFamily.SDXL,
        "StableDiffusionPipeline" or "StableDiffusionImg2ImgPipeline" => textEncoderActivation == "gelu" ? ModelFamily.SD2 : ModelFamily.SD1,
        _ => throw new InvalidDataException(
            $"{where}: model_index.json names pipeline class '{pipelineClass}'; Farm loads StableDiffusionPipeline (SD 1.x/2.x) and StableDiffusionXLPipeline (SDXL)"),
    };

    /// <summary>The family of a single file from its text-encoder keys.</summary>
    public static ModelFamily FromKeys(IEnumerable<string> keys, string file)
    {
        bool sdxl = false, sd2 = false, sd1 = false, refiner = false, unet = false;
        foreach (var key in keys)
        {
            if (key.StartsWith(SdxlOpenClipPrefix, StringComparison.Ordinal)) sdxl = true;
            else if (key.StartsWith(Sd2OpenClipPrefix, StringComparison.Ordinal)) sd2 = true;
            else if (key.StartsWith(Sd1ClipPrefix, StringComparison.Ordinal)) sd1 = true;
            else if (key.StartsWith("conditioner.embedders.0.model.", StringComparison.Ordinal)) refiner = true;
            else if (key.StartsWith("model.diffusion_model.", StringComparison.Ordinal)) unet = true;
        }
        if (sdxl) return ModelFamily.SDXL;
        if (sd2) return ModelFamily.SD2;
        if (sd1) return ModelFamily.SD1;
        if (refiner)
            throw new NotSupportedException($"{file}: this is an SDXL refiner checkpoint (conditioner.embedders.0.model.*, an OpenCLIP-only text tower); Farm loads SD 1.x, SD 2.x and SDXL base checkpoints");
        throw new InvalidDataException(
            $"{file}: not a Stable Diffusion checkpoint Farm recognises: looked for the text encoder under "
            + $"'{SdxlOpenClipPrefix}' (SDXL), '{Sd2OpenClipPrefix}' (SD 2.x) or '{Sd1ClipPrefix}' (SD 1.x) and found none"
            + (unet ? " (it has a UNet under 'model.diffusion_model.': a UNet-only file cannot be loaded alone)" : "")
            + ". A LoRA or embedding belongs in the models folder's loras/ or embeddings/, a diffusers model is a folder with model_index.json");
    }

    /// <summary>True when the keys are a kohya-style LoRA (<c>lora_unet_*</c>, <c>lora_te*_*</c>), not a model.</summary>
    public static bool IsLora(IEnumerable<string> keys) =>
        keys.Any(k => k.StartsWith("lora_unet_", StringComparison.Ordinal) || k.StartsWith("lora_te", StringComparison.Ordinal));

    /// <summary>
    /// A kohya LoRA's base family, when its keys tell: two text encoders (<c>lora_te1_</c>/<c>lora_te2_</c>) are SDXL;
    /// one (<c>lora_te_</c>) is SD 1.x at width 768 and SD 2.x at 1024 (the <c>lora_down</c> input width). Null otherwise.
    /// </summary>
    public static ModelFamily? LoraBaseFamily(IEnumerable<string> keys, Func<string, long[]> shape)
    {
        var list = keys.ToList();
        if (list.Any(k => k.StartsWith("lora_te1_", StringComparison.Ordinal) || k.StartsWith("lora_te2_", StringComparison.Ordinal))) return ModelFamily.SDXL;
        var down = list.FirstOrDefault(k => k.StartsWith("lora_te_", StringComparison.Ordinal) && k.EndsWith("q_proj.lora_down.weight", StringComparison.Ordinal));
        if (down is null) return null;
        return shape(down) is [_, var width, ..] ? width switch { 768 => ModelFamily.SD1, 1024 => ModelFamily.SD2, _ => null } : null;
    }
}

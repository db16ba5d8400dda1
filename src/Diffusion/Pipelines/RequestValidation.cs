namespace Farm.Diffusion.Pipelines;

/// <summary>Checks a render request against the loaded model; every problem is an ArgumentException naming the field.</summary>
internal static class RequestValidation
{
    public const int MaxSide = 4096;

    public static (int Width, int Height) Validate(RenderRequest request, StableDiffusionPipeline pipeline)
    {
        if (request.Seeds.Count == 0) throw new ArgumentException("seeds: at least one seed is needed");
        if (request.Steps is < 1 or > 1000) throw new ArgumentException($"steps: must be in [1, 1000], got {request.Steps}");
        if (!double.IsFinite(request.GuidanceScale) || request.GuidanceScale < 0) throw new ArgumentException($"guidance scale: must be a finite number ≥ 0, got {request.GuidanceScale}");
        if (!Schedulers.SchedulerFactory.Names.Contains(request.Scheduler))
            throw new ArgumentException($"scheduler: unknown '{request.Scheduler}'; use one of {string.Join(", ", Schedulers.SchedulerFactory.Names)}");
        if (request.Mask is not null && pipeline.UsesAddedConditions)
            throw new ArgumentException("mask: inpainting is not supported for SDXL models yet (StableDiffusionXLInpaintPipeline differs from SD1.x's)");
        if (request.ClipSkip < 0) throw new ArgumentException($"clip skip: must be ≥ 0, got {request.ClipSkip}");
        var width = request.Width ?? request.InitImage?.Width ?? pipeline.DefaultSize;
        var height = request.Height ?? request.InitImage?.Height ?? pipeline.DefaultSize;
        CheckSide("width", width, pipeline.VaeScaleFactor);
        CheckSide("height", height, pipeline.VaeScaleFactor);
        return (width, height);
    }

    private static void CheckSide(string name, int value, int multiple)
    {
        if (value < multiple || value > MaxSide || value % multiple != 0)
            throw new ArgumentException($"{name}: must be a multiple of {multiple} in [{multiple}, {MaxSide}], got {value}");
    }
}

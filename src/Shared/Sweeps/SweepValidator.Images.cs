namespace Farm.Shared.Sweeps;

/// <summary>img2img and inpainting: the assets exist, sizes agree, strengths are in (0, 1] and leave a step to run.</summary>
public static partial class SweepValidator
{
    /// <summary>With an init image and no size in the spec, the render takes the init image's size (as diffusers does).</summary>
    public static SweepSpec TakeInitSize(SweepSpec spec, Func<string, ImageSize?> assetSize) =>
        spec is { Init: { } init, SizeGiven: false } && assetSize(init) is { } size ? spec with { Width = size.Width, Height = size.Height } : spec;

    private static void ValidateImages(SweepSpec spec, SweepLimits limits, Func<string, ImageSize?> assetSize, SweepErrors errors)
    {
        if (spec.Init is not { } init) return;
        if (assetSize(init) is not { } initSize)
        {
            errors.Add("init", $"no asset '{init}' on this farm (upload the image with POST /v1/assets first)");
            return;
        }
        if (!spec.SizeGiven && (SizeProblem(initSize.Width, limits.MaxWidth) ?? SizeProblem(initSize.Height, limits.MaxHeight)) is not null)
            errors.Add("init", $"the image is {initSize}; a render size needs multiples of 8 up to {limits.MaxWidth}x{limits.MaxHeight}, so resize it");
        if (spec.Sizes is { } sizes)
            Each(sizes, "size", s => s == initSize ? null : $"is {s} but the init image is {initSize}; img2img renders at the init image's size", errors);
        else if (spec.SizeGiven)
        {
            if (spec.Width != initSize.Width) errors.Add("width", $"is {spec.Width} but the init image is {initSize}; leave width and height out to take its size");
            if (spec.Height != initSize.Height) errors.Add("height", $"is {spec.Height} but the init image is {initSize}; leave width and height out to take its size");
        }
        if (spec.Mask is { } mask)
        {
            if (assetSize(mask) is not { } maskSize) errors.Add("mask", $"no asset '{mask}' on this farm (upload the image with POST /v1/assets first)");
            else if (maskSize != initSize) errors.Add("mask", $"is {maskSize} but the init image is {initSize}; they must be the same size");
        }
        var strengths = spec.Strengths ?? [];
        var fewestSteps = spec.Steps.Count == 0 ? 1 : spec.Steps.Min();
        Each(strengths, "strength", s => s is not (> 0 and <= 1) ? $"must be in (0, 1] (got {s})"
            // diffusers runs int(steps × strength) steps: fewer than one renders nothing.
            : (int)(fewestSteps * s) < 1 ? $"{s} with {fewestSteps} steps leaves no step to run; raise strength or steps" : null, errors);
    }
}

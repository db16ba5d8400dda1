namespace Farm.Shared.Sweeps;

/// <summary>Limits of the axis fields: sizes, clip skip, negative prompts, Prompt S/R, LoRA scales, zip lengths.</summary>
public static partial class SweepValidator
{
    /// <summary>LoRAs and embeddings no live worker has: each a field error (the worker would fail every job of it).</summary>
    public static SweepErrors CheckAdapters(SweepSpec spec, Func<string, bool> loraKnown, Func<string, bool> embeddingKnown)
    {
        var errors = new SweepErrors();
        for (var i = 0; i < spec.Loras.Count; i++)
            if (!loraKnown(spec.Loras[i].Name))
                errors.Add($"loras[{i}].name", $"no live worker has the LoRA '{spec.Loras[i].Name}' (a file in its models folder's loras/)");
        var unknown = spec.Embeddings.SelectMany(set => set).Distinct(StringComparer.Ordinal).Where(n => !embeddingKnown(n)).ToList();
        if (unknown.Count > 0)
            errors.Add("embeddings", $"no live worker has the embedding{(unknown.Count == 1 ? "" : "s")} {string.Join(", ", unknown.Select(n => $"'{n}'"))} (files in its models folder's embeddings/)");
        return errors;
    }

    private static void ValidateAxes(SweepSpec spec, SweepLimits limits, SweepErrors errors)
    {
        if (spec.Sizes is { } sizes)
            Each(sizes, "size", s => SizeProblem(s.Width, limits.MaxWidth) is { } w ? $"width {w}"
                : SizeProblem(s.Height, limits.MaxHeight) is { } h ? $"height {h}" : null, errors);
        Each(spec.ClipSkips, "clipSkip", c => c < 0 || c > limits.MaxClipSkip ? $"must be between 0 and {limits.MaxClipSkip} (got {c})" : null, errors);
        if (spec.NegativePrompts is { } negatives)
            Each(negatives, "negativePrompt", n => n.Length > limits.MaxPromptLength ? $"is longer than {limits.MaxPromptLength} characters" : null, errors);
        if (spec.PromptReplace is { } sr && !spec.Prompts.Any(p => p.Contains(sr.Find, StringComparison.Ordinal)))
            errors.Add("promptReplace.find", $"'{sr.Find}' occurs in none of the prompts (AUTOMATIC1111 refuses this too)");
        if (spec.PromptReplace is { } replace)
            for (var k = 0; k < replace.Replace.Count; k++)
            {
                var emptied = spec.Prompts.Select((p, i) => (p, i)).FirstOrDefault(x =>
                    x.p.Contains(replace.Find, StringComparison.Ordinal) && string.IsNullOrWhiteSpace(x.p.Replace(replace.Find, replace.Replace[k], StringComparison.Ordinal)));
                if (emptied.p is not null)
                    errors.Add(replace.Replace.Count == 1 ? "promptReplace.replace" : $"promptReplace.replace[{k}]", $"leaves prompts[{emptied.i}] empty");
            }
        for (var i = 0; i < spec.Loras.Count; i++)
        {
            var scales = spec.Loras[i].Scales;
            for (var k = 0; k < scales.Count; k++)
                if (Math.Abs(scales[k]) > limits.MaxLoraScale)
                    errors.Add(scales.Count == 1 ? $"loras[{i}].scale" : $"loras[{i}].scale[{k}]", $"must be between -{limits.MaxLoraScale} and {limits.MaxLoraScale}");
        }
        for (var g = 0; g < spec.Zip.Count; g++)
        {
            var lengths = spec.Zip[g].Select(name => (name, count: SweepAxes.Count(spec, name))).ToList();
            if (lengths.Select(l => l.count).Distinct().Count() > 1)
                errors.Add(spec.Zip.Count == 1 ? "zip" : $"zip[{g}]",
                    $"zipped axes must have equal lengths ({string.Join(", ", lengths.Select(l => $"{l.name}: {l.count}"))})");
        }
    }
}

using System.Text.Json;

namespace Farm.Diffusion.Schedulers;

/// <summary>
/// The keys of diffusers' <c>scheduler/scheduler_config.json</c> that our schedulers read. A key that is absent
/// stays null where diffusers' classes disagree on its default (each scheduler then applies its own default,
/// exactly as <c>XScheduler.from_config(...)</c> does); the other defaults are the ones all classes share.
/// </summary>
internal sealed record SchedulerConfig
{
    public int NumTrainTimesteps { get; init; } = 1000;

    public double BetaStart { get; init; } = 0.0001;

    public double BetaEnd { get; init; } = 0.02;

    /// <summary><c>linear</c>, <c>scaled_linear</c> or <c>squaredcos_cap_v2</c>.</summary>
    public string BetaSchedule { get; init; } = "linear";

    public int StepsOffset { get; init; }

    /// <summary>DDIM / PNDM: the "previous" alpha of the last step is 1 (true) or <c>alphas_cumprod[0]</c>.</summary>
    public bool? SetAlphaToOne { get; init; }

    /// <summary>PNDM: only PLMS steps (what Stable Diffusion uses). Only true is supported.</summary>
    public bool? SkipPrkSteps { get; init; }

    /// <summary>DDIM / DDPM / Heun: clamp the predicted x0 to ±<see cref="ClipSampleRange"/>.</summary>
    public bool? ClipSample { get; init; }

    public double ClipSampleRange { get; init; } = 1.0;

    /// <summary><c>epsilon</c> (SD1.x) or <c>v_prediction</c> (SD2 768).</summary>
    public string PredictionType { get; init; } = "epsilon";

    /// <summary><c>linspace</c>, <c>leading</c> or <c>trailing</c>; null ⇒ the scheduler class's own default.</summary>
    public string? TimestepSpacing { get; init; }

    /// <summary>Karras sigma ramp (Euler family, LMS, DPM++, UniPC); set by the factory for <c>dpm++2m-karras</c>.</summary>
    public bool? UseKarrasSigmas { get; init; }

    public static SchedulerConfig Load(string path) => Parse(File.ReadAllText(path));

    /// <summary>Parses a diffusers scheduler config; unknown keys (<c>_class_name</c>, …) are ignored.</summary>
    public static SchedulerConfig Parse(string json)
    {
        using var document = JsonDocument.Parse(json);
        var root = document.RootElement;
        var config = new SchedulerConfig();
        if (TryNumber(root, "num_train_timesteps", out var trainSteps)) config = config with { NumTrainTimesteps = (int)trainSteps };
        if (TryNumber(root, "beta_start", out var betaStart)) config = config with { BetaStart = betaStart };
        if (TryNumber(root, "beta_end", out var betaEnd)) config = config with { BetaEnd = betaEnd };
        if (TryString(root, "beta_schedule", out var schedule)) config = config with { BetaSchedule = schedule };
        if (TryNumber(root, "steps_offset", out var offset)) config = config with { StepsOffset = (int)offset };
        if (TryBool(root, "set_alpha_to_one", out var alphaToOne)) config = config with { SetAlphaToOne = alphaToOne };
        if (TryBool(root, "skip_prk_steps", out var skipPrk)) config = config with { SkipPrkSteps = skipPrk };
        if (TryBool(root, "clip_sample", out var clip)) config = config with { ClipSample = clip };
        if (TryNumber(root, "clip_sample_range", out var clipRange)) config = config with { ClipSampleRange = clipRange };
        if (TryString(root, "prediction_type", out var prediction)) config = config with { PredictionType = prediction };
        if (TryString(root, "timestep_spacing", out var spacing)) config = config with { TimestepSpacing = spacing };
        if (TryBool(root, "use_karras_sigmas", out var karras)) config = config with { UseKarrasSigmas = karras };
        if (root.TryGetProperty("trained_betas", out var trained) && trained.ValueKind != JsonValueKind.Null)
            throw new NotSupportedException("trained_betas is not supported");
        return config;
    }

    private static bool TryNumber(JsonElement root, string key, out double value)
    {
        value = 0;
        if (!root.TryGetProperty(key, out var element) || element.ValueKind != JsonValueKind.Number) return false;
        value = element.GetDouble();
        return true;
    }

    private static bool TryString(JsonElement root, string key, out string value)
    {
        value = "";
        if (!root.TryGetProperty(key, out var element) || element.ValueKind != JsonValueKind.String) return false;
        value = element.GetString()!;
        return true;
    }

    private static bool TryBool(JsonElement root, string key, out bool value)
    {
        value = false;
        if (!root.TryGetProperty(key, out var element) || element.ValueKind is not (JsonValueKind.True or JsonValueKind.False)) return false;
        value = element.GetBoolean();
        return true;
    }
}

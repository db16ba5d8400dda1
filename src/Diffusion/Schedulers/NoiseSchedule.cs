namespace Farm.Diffusion.Schedulers;

/// <summary>
/// The training noise schedule every scheduler starts from: <c>betas</c> and <c>alphas_cumprod</c>, in float32
/// exactly as diffusers builds them with torch (the fixtures' <c>scheduler_common</c> checks it bit for bit).
/// </summary>
internal static class NoiseSchedule
{
    public static float[] Betas(SchedulerConfig config)
    {
        var n = config.NumTrainTimesteps;
        switch (config.BetaSchedule)
        {
            case "linear":
                return TorchLinspace((float)config.BetaStart, (float)config.BetaEnd, n);
            case "scaled_linear":
            {
                // torch.linspace(beta_start**0.5, beta_end**0.5, n, dtype=float32) ** 2 (the roots in double).
                var betas = TorchLinspace((float)Math.Sqrt(config.BetaStart), (float)Math.Sqrt(config.BetaEnd), n);
                for (var i = 0; i < n; i++) betas[i] *= betas[i];
                return betas;
            }
            case "squaredcos_cap_v2":
            {
                // betas_for_alpha_bar(cosine): Python floats, then a float32 tensor.
                static double AlphaBar(double t) => Math.Pow(Math.Cos((t + 0.008) / 1.008 * Math.PI / 2), 2);
                var betas = new float[n];
                for (var i = 0; i < n; i++)
                    betas[i] = (float)Math.Min(1 - AlphaBar((i + 1) / (double)n) / AlphaBar(i / (double)n), 0.999);
                return betas;
            }
            default:
                throw new NotSupportedException($"beta_schedule '{config.BetaSchedule}' is not supported (linear, scaled_linear, squaredcos_cap_v2)");
        }
    }

    /// <summary><c>torch.cumprod(1.0 - betas)</c>: the running product is kept in double (ATen's CPU accumulate type) and stored as float32.</summary>
    public static float[] AlphasCumprod(float[] betas)
    {
        var result = new float[betas.Length];
        double product = 1;
        for (var i = 0; i < betas.Length; i++)
        {
            product *= 1f - betas[i];
            result[i] = (float)product;
        }
        return result;
    }

    /// <summary>
    /// <c>torch.linspace(start, end, steps, dtype=float32)</c> on the CPU as the reference torch computed it (checked bit
    /// for bit against <c>scheduler_common</c>): ATen takes the first half as <c>start + step·i</c> and the second as
    /// <c>end − step·(steps−1−i)</c>, with those multiply-adds fused (FMA, AVX2 kernel build); its vectorised loop
    /// builds each 8-float vector as <c>base + k·step</c> from the vector's first index (choosing the half by that
    /// index), two vectors per iteration, and the tail element by element.
    /// </summary>
    public static float[] TorchLinspace(float start, float end, int steps)
    {
        var result = new float[steps];
        if (steps == 1)
        {
            result[0] = start;
            return result;
        }
        const int vectorWidth = 8;
        var step = (end - start) / (steps - 1);
        var halfway = steps / 2;
        float At(int i) => i < halfway ? MathF.FusedMultiplyAdd(step, i, start) : MathF.FusedMultiplyAdd(-step, steps - i - 1, end);
        var vectorised = steps / (2 * vectorWidth) * (2 * vectorWidth);
        for (var first = 0; first < vectorised; first += vectorWidth)
        {
            var bas = At(first);
            for (var k = 0; k < vectorWidth; k++) result[first + k] = bas + k * step;
        }
        for (var i = vectorised; i < steps; i++)
            result[i] = At(i);
        return result;
    }

    /// <summary><c>((1 - alphas_cumprod) / alphas_cumprod) ** 0.5</c> in float32.</summary>
    public static float[] TrainingSigmas(float[] alphasCumprod)
    {
        var sigmas = new float[alphasCumprod.Length];
        for (var i = 0; i < sigmas.Length; i++) sigmas[i] = MathF.Sqrt((1f - alphasCumprod[i]) / alphasCumprod[i]);
        return sigmas;
    }
}

namespace Farm.Diffusion.Schedulers;

/// <summary>
/// The numpy side of diffusers' <c>set_timesteps</c>: timestep spacings, <c>np.linspace</c>, <c>np.interp</c>,
/// the Karras ramp and <c>_sigma_to_t</c>, all in float64 like numpy, over the float32 training tables.
/// </summary>
internal static class SigmaMath
{
    /// <summary><c>np.linspace(start, stop, num)</c> (float64): <c>i·step + start</c>, the last value exactly <c>stop</c>.</summary>
    public static double[] Linspace(double start, double stop, int num)
    {
        var result = new double[num];
        if (num == 1)
        {
            result[0] = start;
            return result;
        }
        var step = (stop - start) / (num - 1);
        for (var i = 0; i < num; i++) result[i] = i * step + start;
        result[num - 1] = stop;
        return result;
    }

    /// <summary>
    /// Descending timesteps for the DDIM/PNDM/DDPM family and the Euler family (one per step), as float64 values
    /// before each class's cast: linspace(0, T−1, N) (the caller rounds or casts), leading
    /// <c>arange(N)·(T//N) + offset</c>, trailing <c>round(arange(T, 0, −T/N)) − 1</c>.
    /// </summary>
    public static double[] Spacing(string spacing, int trainSteps, int steps, int stepsOffset)
    {
        var result = new double[steps];
        switch (spacing)
        {
            case "linspace":
            {
                var values = Linspace(0, trainSteps - 1, steps);
                for (var i = 0; i < steps; i++) result[i] = values[steps - 1 - i];
                return result;
            }
            case "leading":
            {
                var ratio = trainSteps / steps;
                for (var i = 0; i < steps; i++) result[i] = (double)(steps - 1 - i) * ratio + stepsOffset;
                return result;
            }
            case "trailing":
            {
                var ratio = (double)trainSteps / steps;
                for (var i = 0; i < steps; i++) result[i] = Math.Round(trainSteps - i * ratio, MidpointRounding.ToEven) - 1;
                return result;
            }
            default:
                throw new NotSupportedException($"timestep_spacing '{spacing}' is not supported (linspace, leading, trailing)");
        }
    }

    /// <summary>
    /// Integer timesteps of DPMSolverMultistep / UniPC, which space N+1 points and drop the last:
    /// linspace <c>round(linspace(0, T−1, N+1))[::-1][:-1]</c>, leading <c>arange(N+1)·(T//(N+1))</c> reversed
    /// without its last + offset, trailing as above.
    /// </summary>
    public static long[] MultistepSpacing(string spacing, int trainSteps, int steps, int stepsOffset)
    {
        var result = new long[steps];
        switch (spacing)
        {
            case "linspace":
            {
                var values = Linspace(0, trainSteps - 1, steps + 1);
                for (var i = 0; i < steps; i++) result[i] = (long)Math.Round(values[steps - i], MidpointRounding.ToEven);
                return result;
            }
            case "leading":
            {
                var ratio = trainSteps / (steps + 1);
                for (var i = 0; i < steps; i++) result[i] = (long)(steps - i) * ratio + stepsOffset;
                return result;
            }
            case "trailing":
            {
                var spaced = Spacing("trailing", trainSteps, steps, stepsOffset);
                for (var i = 0; i < steps; i++) result[i] = (long)spaced[i];
                return result;
            }
            default:
                throw new NotSupportedException($"timestep_spacing '{spacing}' is not supported (linspace, leading, trailing)");
        }
    }

    /// <summary><c>np.interp(x, arange(len(table)), table)</c> in float64 (numpy's formula: slope·(x − xⱼ) + yⱼ).</summary>
    public static double Interp(double x, float[] table)
    {
        var last = table.Length - 1;
        if (x <= 0) return table[0];
        if (x >= last) return table[last];
        var j = (int)Math.Floor(x);
        if (j == x) return table[j];
        var slope = ((double)table[j + 1] - table[j]) / 1.0;
        return slope * (x - j) + table[j];
    }

    /// <summary>The Karras et al. (2022) ramp, ρ = 7, from σmax down to σmin over <paramref name="steps"/> values (float64).</summary>
    public static double[] KarrasSigmas(double sigmaMin, double sigmaMax, int steps)
    {
        const double rho = 7.0;
        var ramp = Linspace(0, 1, steps);
        var minInvRho = Math.Pow(sigmaMin, 1 / rho);
        var maxInvRho = Math.Pow(sigmaMax, 1 / rho);
        var result = new double[steps];
        for (var i = 0; i < steps; i++) result[i] = Math.Pow(maxInvRho + ramp[i] * (minInvRho - maxInvRho), rho);
        return result;
    }

    /// <summary>float32 <c>np.log</c> of the float32 training sigmas (the table <c>_sigma_to_t</c> interpolates over).</summary>
    public static float[] LogSigmas(float[] sigmas)
    {
        var result = new float[sigmas.Length];
        for (var i = 0; i < sigmas.Length; i++) result[i] = MathF.Log(sigmas[i]);
        return result;
    }

    /// <summary>diffusers' <c>_sigma_to_t</c>: the fractional training timestep of σ by linear interpolation in log σ (float64).</summary>
    public static double SigmaToT(double sigma, float[] logSigmas)
    {
        var logSigma = Math.Log(Math.Max(sigma, 1e-10));
        // low = the last index whose log σ is ≤ log_sigma (0 if none), clipped so that high stays in range.
        var low = 0;
        for (var i = 0; i < logSigmas.Length; i++)
            if (logSigma - logSigmas[i] >= 0) low = i;
        low = Math.Min(low, logSigmas.Length - 2);
        var high = low + 1;
        double lo = logSigmas[low], hi = logSigmas[high];
        var w = Math.Clamp((lo - logSigma) / (lo - hi), 0, 1);
        return (1 - w) * low + w * high;
    }
}

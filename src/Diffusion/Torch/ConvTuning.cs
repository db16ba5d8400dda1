using static Farm.Diffusion.Torch.NativeMethods;

namespace Farm.Diffusion.Torch;

/// <summary>
/// Where the native library keeps the convolution algorithm it measured fastest per shape (conv_tuning.cpp): one
/// file per CPU kind, libtorch version and BLAS kernel set, under <c>FARM_TUNING_DIR</c> (default
/// <c>$XDG_CACHE_HOME/farm/tuning</c> or <c>~/.cache/farm/tuning</c>), so each shape is measured once per machine.
/// A folder that cannot be written leaves the choices in memory for the process.
/// </summary>
internal static class ConvTuning
{
    internal static string? CachePath { get; private set; }

    internal static void OpenCache()
    {
        CachePath = TryPreparePath();
        Check(ft_conv_tuning_open(CachePath));
    }

    /// <summary>One line for benchmark output: how the algorithm is chosen and how many shapes have one.</summary>
    internal static string Describe()
    {
        Check(ft_conv_tuning_count(out var count, out var isFixed));
        if (isFixed != 0) return $"conv algorithm fixed by FARM_CONV_ALGO={Environment.GetEnvironmentVariable("FARM_CONV_ALGO")}";
        return $"conv algorithm measured per shape ({count} shapes known; cache {CachePath ?? "in memory only"})";
    }

    private static string? TryPreparePath()
    {
        var folder = Environment.GetEnvironmentVariable("FARM_TUNING_DIR");
        if (string.IsNullOrEmpty(folder))
        {
            var cache = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
            if (string.IsNullOrEmpty(cache)) cache = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");
            folder = Path.Combine(cache, "farm", "tuning");
        }
        var blas = Environment.GetEnvironmentVariable("OPENBLAS_CORETYPE") ?? BlasCorePolicy.ChosenCore ?? "auto";
        try
        {
            Directory.CreateDirectory(folder);
            return Path.Combine(folder, $"conv-{CpuInfo.Current.Identity}-libtorch{torch.version}-blas-{blas.ToLowerInvariant()}.txt");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}

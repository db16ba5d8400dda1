using static Farm.Diffusion.Torch.NativeMethods;

namespace Farm.Diffusion.Torch;

/// <summary>
/// Where the native library keeps the kernels it measured fastest per shape (kernel_tuning.h: the convolution
/// algorithm, the linear layers' matrix product, the attention's query tile): one file per CPU kind, libtorch
/// version and BLAS kernel set, under <c>FARM_TUNING_DIR</c> (default <c>$XDG_CACHE_HOME/farm/tuning</c> or
/// <c>~/.cache/farm/tuning</c>), so each shape is measured once per machine.
/// A folder that cannot be written leaves the choices in memory for the process.
/// </summary>
internal static class KernelTuning
{
    /// <summary>Raised whenever a kernel gains or loses a candidate (here: Winograd convolutions, oneDNN attention
    /// products), so that a cache measured without it is not read and every shape is measured again.</summary>
    internal const int CandidateSet = 2;

    internal static string? CachePath { get; private set; }

    internal static void OpenCache()
    {
        CachePath = TryPreparePath();
        Check(ft_tuning_open(CachePath));
    }

    /// <summary>One line for benchmark output: how kernels are chosen and how many shapes have a measured choice.</summary>
    internal static string Describe()
    {
        Check(ft_tuning_count(out var count));
        var fixedBy = new[] { "FARM_CONV_ALGO", "FARM_LINEAR_GEMM", "FARM_ATTENTION_TILE_MB", "FARM_ATTENTION_GEMM" }
            .Where(NativeEnvironment.IsSet).Select(name => $"{name}={Environment.GetEnvironmentVariable(name)}").ToList();
        var fixedNote = fixedBy.Count == 0 ? "" : $", fixed by {string.Join(", ", fixedBy)}";
        return $"kernels measured per shape ({count} shapes known{fixedNote}; cache {CachePath ?? "in memory only"})";
    }

    /// <summary>
    /// Runs every shape of <paramref name="kind"/> ("conv", "linear", "attention") with <paramref name="choice"/> (a
    /// name as the cache file holds it) until disposed, in memory only: for tests that check each algorithm, not
    /// only the one measured fastest here.
    /// </summary>
    internal static IDisposable Force(string kind, string choice)
    {
        _ = torch.get_num_threads();  // loads the native library
        Check(ft_tuning_force(kind, choice));
        return new ForcedChoice(kind);
    }

    private sealed class ForcedChoice(string kind) : IDisposable
    {
        public void Dispose() => Check(ft_tuning_force(kind, null));
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
            return Path.Combine(folder, $"kernels-v{CandidateSet}-{CpuInfo.Current.Identity}-libtorch{torch.version}-blas-{blas.ToLowerInvariant()}.txt");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}

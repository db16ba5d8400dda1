using System.Runtime.InteropServices;

namespace Farm.Diffusion.Torch;

/// <summary>
/// Makes libtorch's idle OpenMP threads sleep instead of spin. libtorch runs its own ops on an OpenMP pool but its
/// matrix products on OpenBLAS's separate pthread pool; with GNU OpenMP's default (spin after every parallel
/// region) the two pools fight for the same cores, and the text encoder ran 4× slower than its GEMMs allow
/// (docs/benchmarks.md). libgomp reads the setting once when it loads, so this must run before libfarmtorch.so
/// is loaded, and it goes through libc's <c>setenv</c> because .NET keeps its own copy of the environment.
/// A setting the user made (<c>OMP_WAIT_POLICY</c> or <c>GOMP_SPINCOUNT</c>) is left alone.
/// </summary>
internal static partial class OpenMpWaitPolicy
{
    internal static void ApplyBeforeLoad()
    {
        if (!OperatingSystem.IsLinux()) return;
        if (Environment.GetEnvironmentVariable("OMP_WAIT_POLICY") is not null) return;
        if (Environment.GetEnvironmentVariable("GOMP_SPINCOUNT") is not null) return;
        setenv("OMP_WAIT_POLICY", "PASSIVE", overwrite: 0);
    }

    [LibraryImport("libc", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int setenv(string name, string value, int overwrite);
}

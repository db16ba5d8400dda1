namespace Farm.Diffusion.Torch;

/// <summary>
/// Makes the idle threads of libtorch's two thread pools sleep instead of spin. libtorch runs its own kernels on
/// GNU OpenMP's pool and its matrix products on OpenBLAS's separate pthread pool; by default both spin after their
/// work (OpenMP busy-waits, OpenBLAS calls sched_yield), so on a small machine each pool's waiting threads took
/// the cores the other pool needed: the text encoder ran 4× slower than its GEMMs allow, the UNet ~10% slower
/// (docs/benchmarks.md). Both libraries read these settings once, when they load, so this runs before
/// libfarmtorch.so is loaded.
/// Whatever the user set (<c>OMP_WAIT_POLICY</c>, <c>GOMP_SPINCOUNT</c>, <c>OPENBLAS_THREAD_TIMEOUT</c>) wins.
/// </summary>
internal static class IdleThreadPolicy
{
    internal static void ApplyBeforeLoad()
    {
        if (!OperatingSystem.IsLinux()) return;
        if (!NativeEnvironment.IsSet("OMP_WAIT_POLICY") && !NativeEnvironment.IsSet("GOMP_SPINCOUNT")) NativeEnvironment.Set("OMP_WAIT_POLICY", "PASSIVE");
        // 2^4 cycles of spinning, OpenBLAS's minimum: its threads sleep almost as soon as a product is done.
        NativeEnvironment.Set("OPENBLAS_THREAD_TIMEOUT", "4");
    }
}

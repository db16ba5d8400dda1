namespace Farm.Diffusion.Torch;

/// <summary>
/// Lets OpenBLAS use the CPU's AVX-512 kernels where it does not recognise the CPU. OpenBLAS 0.3.21 (Debian 12)
/// picks its kernels by CPU model, and on CPUs newer than it (AMD Zen 4 and 5, recent Xeons) it falls back to its
/// AVX2 "Haswell" kernels although the CPU has AVX-512: the UNet's and text encoder's matrix products then run at
/// half the vector width (docs/benchmarks.md). When the CPU reports the AVX-512 subsets OpenBLAS's SkylakeX kernels
/// need, this sets <c>OPENBLAS_CORETYPE=SkylakeX</c> before OpenBLAS loads (it reads the variable once, then). A
/// user's own <c>OPENBLAS_CORETYPE</c> wins, so <c>OPENBLAS_CORETYPE=Haswell</c> turns this off.
/// </summary>
internal static class BlasCorePolicy
{
    private static readonly string[] SkylakeXFlags = ["avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"];

    internal static string? ChosenCore { get; private set; }

    internal static void ApplyBeforeLoad(CpuInfo cpu)
    {
        if (!OperatingSystem.IsLinux() || Environment.GetEnvironmentVariable("OPENBLAS_CORETYPE") is not null) return;
        if (!SkylakeXFlags.All(cpu.Has)) return;
        ChosenCore = "SkylakeX";
        NativeEnvironment.Set("OPENBLAS_CORETYPE", ChosenCore);
    }
}

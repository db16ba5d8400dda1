using System.Reflection;
using System.Runtime.InteropServices;

namespace Farm.Diffusion.Torch;

/// <summary>
/// Finds libfarmtorch.so: <c>FARM_NATIVE_LIB</c> if set, else beside the assembly (copied there by the build),
/// else in the CMake build folder of a source checkout.
/// </summary>
internal static class NativeLibraryResolver
{
    private static int registered;

    internal static void Register()
    {
        if (Interlocked.Exchange(ref registered, 1) == 1) return;
        // Before anything is loaded, and before the tuning cache's file name is made from what they choose.
        IdleThreadPolicy.ApplyBeforeLoad();
        BlasCorePolicy.ApplyBeforeLoad(CpuInfo.Current);
        NativeLibrary.SetDllImportResolver(typeof(NativeLibraryResolver).Assembly, Resolve);
    }

    private static IntPtr Resolve(string name, Assembly assembly, DllImportSearchPath? searchPath)
    {
        if (name != "farmtorch") return IntPtr.Zero;
        foreach (var candidate in Candidates())
            if (File.Exists(candidate)) return NativeLibrary.Load(candidate);
        throw new DllNotFoundException(
            "libfarmtorch.so not found. Build it with `./farm test` or `./farm demo` (they run CMake), or set FARM_NATIVE_LIB to its path.");
    }

    private static IEnumerable<string> Candidates()
    {
        var explicitPath = Environment.GetEnvironmentVariable("FARM_NATIVE_LIB");
        if (!string.IsNullOrEmpty(explicitPath)) yield return explicitPath;
        yield return Path.Combine(AppContext.BaseDirectory, "libfarmtorch.so");
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            yield return Path.Combine(dir.FullName, "src", "Diffusion", "native", "build", "libfarmtorch.so");
    }
}

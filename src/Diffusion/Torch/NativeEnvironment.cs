using System.Runtime.InteropServices;

namespace Farm.Diffusion.Torch;

/// <summary>
/// Sets variables in the process environment that native libraries read (through libc's <c>setenv</c>: .NET keeps
/// its own copy of the environment, which libgomp and OpenBLAS never see). Never overwrites what the user set.
/// </summary>
internal static partial class NativeEnvironment
{
    internal static bool IsSet(string name) => Environment.GetEnvironmentVariable(name) is not null;

    internal static void Set(string name, string value) => setenv(name, value, overwrite: 0);

    [LibraryImport("libc", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int setenv(string name, string value, int overwrite);
}

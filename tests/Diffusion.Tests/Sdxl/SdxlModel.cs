using Farm.Diffusion.Models;
using Farm.Testing;

namespace Farm.Diffusion.Tests.Sdxl;

/// <summary>The sdxl-tiny fixture model folder and its components, read in place.</summary>
internal static class SdxlModel
{
    public static string Dir => Fixtures.Model(Fixtures.SdxlTiny);

    public static string Component(string name) => Path.Combine(Dir, name);

    public static ModelIndex Index() => ModelIndex.Load(Dir);
}

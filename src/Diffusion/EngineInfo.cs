using Farm.Diffusion.Torch;

namespace Farm.Diffusion;

/// <summary>Identifies the engine build in every image's metadata, so a result can be traced to the code that made it.</summary>
public static class EngineInfo
{
    public const string EngineName = "farm-engine";

    public static string Version { get; } =
        $"{EngineName}/{typeof(EngineInfo).Assembly.GetName().Version?.ToString(3) ?? "0.0.0"} libtorch/{torch.version}";
}

using Farm.Diffusion.Models;

namespace Farm.Diffusion.Tests.Models;

/// <summary>
/// A tiny model written into a fresh temporary folder, deleted on dispose. The UNet / VAE key lists are
/// stand-ins (two tensors each): these tests exercise the writer and the loader, not those networks.
/// </summary>
internal sealed class TinyModelFolder : IDisposable
{
    public static readonly (string Key, long[] Shape)[] UnetStandIn = [("conv_in.weight", [32, 4, 3, 3]), ("conv_in.bias", [32])];
    public static readonly (string Key, long[] Shape)[] VaeStandIn = [("decoder.conv_in.weight", [32, 4, 3, 3]), ("decoder.conv_norm_out.weight", [32])];

    public TinyModelFolder(int seed = 1234)
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "farm-tiny-" + Guid.NewGuid().ToString("N"));
        TinyModel.Write(Path, seed, () => UnetStandIn, () => VaeStandIn);
    }

    public string Path { get; }

    public string File(string relative) => System.IO.Path.Combine(Path, relative);

    public void Dispose()
    {
        if (Directory.Exists(Path)) Directory.Delete(Path, recursive: true);
    }
}

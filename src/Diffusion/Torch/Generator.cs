namespace Farm.Diffusion.Torch;

/// <summary>A CPU random generator seeded like <c>torch.Generator("cpu").manual_seed(seed)</c> (mt19937).</summary>
public sealed class Generator : IDisposable
{
    private IntPtr handle;

    public Generator(ulong seed)
    {
        NativeMethods.Check(NativeMethods.ft_generator_new(seed, out handle));
        Seed = seed;
    }

    public ulong Seed { get; }

    internal IntPtr Handle => handle != IntPtr.Zero ? handle : throw new ObjectDisposedException(nameof(Generator));

    public void Dispose()
    {
        var h = Interlocked.Exchange(ref handle, IntPtr.Zero);
        if (h != IntPtr.Zero) NativeMethods.ft_generator_free(h);
        GC.SuppressFinalize(this);
    }

    ~Generator() => Dispose();
}

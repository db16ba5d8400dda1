using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Farm.Diffusion.Models;
using Farm.Diffusion.Models.Clip;
using Farm.Diffusion.Models.Unet;
using Farm.Diffusion.Models.Vae;
using Farm.Diffusion.Torch;
using Farm.Diffusion.Weights;

namespace Farm.Cli.Commands;

/// <summary>
/// `farm bench unet|vae|text`: one component at full SD1.5 size with seeded random weights, timed as diffusers was
/// in ../shared/docs/cpu-anchor.md (median of N runs after one warm-up). The last line is machine-readable:
/// <c>median_s=… peak_rss_mb=…</c>.
/// </summary>
internal static class BenchCommand
{
    public static Task<int> RunAsync(CliArgs args, CancellationToken cancellation)
    {
        var component = args.Positional(0, "what to time: unet, vae or text");
        var latent = args.Int("latent", 64, min: 8, max: 256);
        var batch = args.Int("batch", component == "unet" ? 2 : 1, min: 1, max: 16);
        var runs = args.Int("runs", 3, min: 1, max: 100);
        var dtype = ParseDType(args.String("dtype") ?? "f32");
        torch.set_num_threads(args.Int("threads", Environment.ProcessorCount, min: 1));
        args.EnsureAllUsed();

        Func<Tensor> run = component switch
        {
            "unet" => UnetStep(latent, batch, dtype),
            "vae" => VaeDecode(latent, batch, dtype),
            "text" => TextEncode(batch, dtype),
            _ => throw new UsageException($"unknown component '{component}': use unet, vae or text"),
        };
        Console.WriteLine($"bench {component}: latent {latent}×{latent}, batch {batch}, {dtype.ShortName()}, {torch.get_num_threads()} threads, libtorch {torch.version}");
        var times = new List<double>();
        for (var i = 0; i <= runs; i++)
        {
            cancellation.ThrowIfCancellationRequested();
            var clock = Stopwatch.StartNew();
            using (var scope = torch.NewDisposeScope()) run();
            var seconds = clock.Elapsed.TotalSeconds;
            if (i == 0) Console.WriteLine($"  warm-up {seconds:F3} s");
            else
            {
                times.Add(seconds);
                Console.WriteLine($"  run {i}: {seconds:F3} s");
            }
        }
        times.Sort();
        var median = times[times.Count / 2];
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"median_s={median:F3} peak_rss_mb={PeakResidentMiB():F0}"));
        return Task.FromResult(0);
    }

    private static ScalarType ParseDType(string text)
    {
        try
        {
            return ScalarTypes.ParseFloat(text);
        }
        catch (ArgumentException e)
        {
            throw new UsageException(e.Message);
        }
    }

    private static Func<Tensor> UnetStep(int latent, int batch, ScalarType dtype)
    {
        var unet = Loaded(new UNet2DConditionModel(UNet2DConditionConfig.Parse(Sd15.Unet)), dtype);
        var sample = Random([batch, 4, latent, latent], 1, dtype);
        var context = Random([batch, 77, 768], 2, dtype);
        var timestep = torch.scalar(500f);
        return () => unet.Forward(sample, timestep, context);
    }

    private static Func<Tensor> VaeDecode(int latent, int batch, ScalarType dtype)
    {
        var vae = Loaded(new AutoencoderKL(AutoencoderKLConfig.Parse(Sd15.Vae)), dtype);
        var z = Random([batch, 4, latent, latent], 3, dtype);
        return () => vae.Decode(z);
    }

    private static Func<Tensor> TextEncode(int batch, ScalarType dtype)
    {
        using var config = JsonDocument.Parse(Sd15.TextEncoder);
        var encoder = Loaded(new CLIPTextModel(CLIPTextConfig.FromJson(config.RootElement)), dtype);
        var ids = torch.tensor(Enumerable.Range(0, batch * 77).Select(i => (long)(i * 7919 % 49406)).ToArray(), batch, 77);
        return () =>
        {
            using var output = encoder.Forward(ids);
            return output.LastHiddenState.clone();
        };
    }

    private static T Loaded<T>(T module, ScalarType dtype) where T : Module
    {
        module.Load(RandomWeights.For(module, seed: 1234, description: $"random {typeof(T).Name}"), dtype, Device.Cpu);
        return module;
    }

    private static Tensor Random(long[] shape, ulong seed, ScalarType dtype)
    {
        using var generator = new Generator(seed);
        using var values = torch.randn(shape, generator);
        return values.to(dtype).DetachFromDisposeScope();
    }

    private static double PeakResidentMiB()
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
            if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024.0;
        return double.NaN;
    }
}

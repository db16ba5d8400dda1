using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Farm.Cli.Parsing;
using Farm.Diffusion.Models;
using Farm.Diffusion.Models.Clip;
using Farm.Diffusion.Models.Loading;
using Farm.Diffusion.Models.Unet;
using Farm.Diffusion.Models.Vae;
using Farm.Diffusion.Pipelines;
using Farm.Diffusion.Pipelines.Prompts;
using Farm.Diffusion.Schedulers;
using Farm.Diffusion.Tokenization;
using Farm.Diffusion.Torch;
using Farm.Diffusion.Weights;

namespace Farm.Cli.Commands;

/// <summary>
/// `farm bench unet|vae|text|txt2img`: one component, or a whole text-to-image render through the pipeline, at full
/// SD1.5 size (`bench unet --family sdxl`: SDXL base's UNet) with seeded random weights, timed as diffusers was in
/// ../shared/docs/cpu-anchor.md (median of N runs after one warm-up). The last line is machine-readable: <c>median_s=… peak_rss_mb=…</c>.
/// </summary>
internal static class BenchCommand
{
    // Hidden from help: System.CommandLine would show it in `bench farm`'s usage too; the description names the components.
    private static readonly Argument<string> ComponentArgument = new("component") { Description = "what to time: unet, vae, text or txt2img", Hidden = true };
    private static readonly Option<int> LatentOption = FarmOptions.Int("--latent", "latent side (64 = 512×512 images)", 64, min: 8, max: 256);
    private static readonly Option<int?> BatchOption = FarmOptions.OptionalInt("--batch", "batch size (default: 2 for unet, a CFG pair; else 1)", min: 1, max: 16);
    private static readonly Option<int> StepsOption = FarmOptions.Int("--steps", "txt2img: denoising steps", 20, min: 1, max: 1000);
    private static readonly Option<int> RunsOption = FarmOptions.Int("--runs", "timed runs after the warm-up", 3, min: 1, max: 100);
    private static readonly Option<string> DTypeOption = FarmOptions.Text("--dtype", "f32, f16 or bf16", "TYPE", "f32");
    private static readonly Option<int> ThreadsOption = FarmOptions.Int("--threads", "CPU threads", Environment.ProcessorCount, min: 1);
    private static readonly Option<string?> ProfileOption = FarmOptions.Text("--profile", "write libtorch's op trace of one more run to FILE", "FILE");
    private static readonly Option<string> FamilyOption = FarmOptions.Text("--family", "sd15 or sdxl (sdxl: bench unet only)", "FAMILY", "sd15");

    public static Command Create()
    {
        var command = new Command("bench", "bench unet|vae|text|txt2img: time the engine on full-size SD1.5 shapes with random weights (last line: median_s=… peak_rss_mb=…); bench farm: the farm itself")
        {
            ComponentArgument, LatentOption, BatchOption, StepsOption, RunsOption, DTypeOption, ThreadsOption, ProfileOption, FamilyOption,
            FarmBenchCommand.Create(),
        };
        command.SetAction((parse, cancellation) => RunAsync(parse, cancellation));
        return command;
    }

    private static Task<int> RunAsync(ParseResult args, CancellationToken cancellation)
    {
        var component = args.GetValue(ComponentArgument)!;
        var latent = args.GetValue(LatentOption);
        var batch = args.GetValue(BatchOption) ?? (component == "unet" ? 2 : 1);
        var steps = args.GetValue(StepsOption);
        var runs = args.GetValue(RunsOption);
        var dtype = ParseDType(args.GetValue(DTypeOption)!);
        torch.set_num_threads(args.GetValue(ThreadsOption));
        var profilePath = args.GetValue(ProfileOption);
        var family = args.GetValue(FamilyOption)!;
        if (family is not ("sd15" or "sdxl")) throw new UsageException($"unknown family '{family}': use sd15 or sdxl");
        if (family != "sd15" && component != "unet") throw new UsageException($"--family {family} is only for bench unet");

        Action run = component switch
        {
            "unet" => family == "sdxl" ? SdxlUnetStep(latent, batch, dtype) : UnetStep(latent, batch, dtype),
            "vae" => VaeDecode(latent, batch, dtype),
            "text" => TextEncode(batch, dtype),
            "txt2img" => TextToImage(latent, batch, steps, dtype),
            _ => throw new UsageException($"unknown component '{component}': use unet, vae, text or txt2img"),
        };
        var stepsNote = component == "txt2img" ? $", {steps} steps" : "";
        var familyNote = family == "sd15" ? "" : $" ({family})";
        Console.WriteLine($"bench {component}{familyNote}: latent {latent}×{latent}, batch {batch}{stepsNote}, {dtype.ShortName()}, {torch.get_num_threads()} threads, libtorch {torch.version}");
        Console.WriteLine($"cpu {CpuInfo.Current.ModelName}; OpenBLAS kernels {Environment.GetEnvironmentVariable("OPENBLAS_CORETYPE") ?? BlasCorePolicy.ChosenCore ?? "as detected"}; {KernelTuning.Describe()}");
        var times = new List<double>();
        var cpuTimes = new List<double>();
        using var self = Process.GetCurrentProcess();
        for (var i = 0; i <= runs; i++)
        {
            cancellation.ThrowIfCancellationRequested();
            self.Refresh();
            TimeSpan user = self.UserProcessorTime, system = self.PrivilegedProcessorTime;
            var clock = Stopwatch.StartNew();
            run();
            var seconds = clock.Elapsed.TotalSeconds;
            self.Refresh();
            // CPU time of the whole process: on a shared machine it tracks the work done better than wall time.
            double userSeconds = (self.UserProcessorTime - user).TotalSeconds, systemSeconds = (self.PrivilegedProcessorTime - system).TotalSeconds;
            var cpu = string.Create(CultureInfo.InvariantCulture, $"cpu {userSeconds + systemSeconds:F3} s (user {userSeconds:F3}, sys {systemSeconds:F3}), load {Load()}");
            if (i == 0) Console.WriteLine($"  warm-up {seconds:F3} s, {cpu}");
            else
            {
                times.Add(seconds);
                cpuTimes.Add(userSeconds + systemSeconds);
                Console.WriteLine($"  run {i}: {seconds:F3} s, {cpu}");
            }
        }
        if (profilePath is not null)
        {
            // One more run under libtorch's profiler (slower than the timed ones; its op split is what counts).
            using (torch.profile(profilePath)) run();
            Console.WriteLine($"  op trace of one more run written to {profilePath}");
        }
        times.Sort();
        cpuTimes.Sort();
        var median = times[times.Count / 2];
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"median_cpu_s={cpuTimes[cpuTimes.Count / 2]:F3} (process CPU time; ≈ wall × threads on an idle machine)"));
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

    private static Action Timed(Func<Tensor> forward) => () =>
    {
        using var scope = torch.NewDisposeScope();
        forward();
    };

    private static Action UnetStep(int latent, int batch, ScalarType dtype)
    {
        var unet = Loaded(new UNet2DConditionModel(UNet2DConditionConfig.Parse(StandardConfigs.Unet(ModelFamily.SD1))), dtype);
        var sample = Random([batch, 4, latent, latent], 1, dtype);
        var context = Random([batch, 77, 768], 2, dtype);
        var timestep = torch.scalar(500f);
        return Timed(() => unet.Forward(sample, timestep, context));
    }

    /// <summary>One SDXL base UNet step with its added conditions: random pooled text embeds, 1024² size ids.</summary>
    private static Action SdxlUnetStep(int latent, int batch, ScalarType dtype)
    {
        var config = UNet2DConditionConfig.Parse(StandardConfigs.Unet(ModelFamily.SDXL));
        var unet = Loaded(new UNet2DConditionModel(config), dtype);
        var sample = Random([batch, 4, latent, latent], 1, dtype);
        var context = Random([batch, 77, config.CrossAttentionDim[0]], 2, dtype);
        // text_encoder_2's pooled, projected output: what the text_time embedding takes beside the six size ids.
        var pooled = Random([batch, config.ProjectionClassEmbeddingsInputDim!.Value - 6 * config.AdditionTimeEmbedDim!.Value], 3, dtype);
        var side = latent * 8f;
        var timeIds = torch.tensor(Enumerable.Range(0, batch).SelectMany(_ => new[] { side, side, 0f, 0f, side, side }).ToArray(), batch, 6);
        var added = new AddedConditions(pooled, timeIds);
        var timestep = torch.scalar(500f);
        return Timed(() => unet.Forward(sample, timestep, context, added));
    }

    private static Action VaeDecode(int latent, int batch, ScalarType dtype)
    {
        var vae = Loaded(new AutoencoderKL(AutoencoderKLConfig.Parse(StandardConfigs.Vae(ModelFamily.SD1))), dtype);
        var z = Random([batch, 4, latent, latent], 3, dtype);
        return Timed(() => vae.Decode(z));
    }

    private static Action TextEncode(int batch, ScalarType dtype)
    {
        using var config = JsonDocument.Parse(StandardConfigs.TextEncoder(ModelFamily.SD1));
        var encoder = Loaded(new CLIPTextModel(CLIPTextConfig.FromJson(config.RootElement)), dtype);
        var ids = torch.tensor(Enumerable.Range(0, batch * 77).Select(i => (long)(i * 7919 % 49406)).ToArray(), batch, 77);
        return Timed(() =>
        {
            using var output = encoder.Forward(ids);
            return output.LastHiddenState.clone();
        });
    }

    /// <summary>
    /// One render of <paramref name="batch"/> images through <see cref="StableDiffusionPipeline"/>, as a worker runs it:
    /// tokenizer, text encoder on prompt and negative prompt, <paramref name="steps"/> guided UNet steps (batch 2×) with
    /// SD1.5's PNDM, VAE decode and the conversion to 8-bit pixels. The tokenizer is the tiny model's (the token ids
    /// differ from CLIP's, the work does not).
    /// </summary>
    private static Action TextToImage(int latent, int batch, int steps, ScalarType dtype)
    {
        var tokenizerDir = Directory.CreateTempSubdirectory("farm-bench-tokenizer-");
        ClipTokenizer tokenizer;
        try
        {
            TinyModelVocabulary.Write(tokenizerDir.FullName);
            tokenizer = ClipTokenizer.FromDirectory(tokenizerDir.FullName);
        }
        finally
        {
            tokenizerDir.Delete(recursive: true);
        }
        using var config = JsonDocument.Parse(StandardConfigs.TextEncoder(ModelFamily.SD1));
        var promptEncoder = new ClipPromptEncoder(tokenizer, Loaded(new CLIPTextModel(CLIPTextConfig.FromJson(config.RootElement)), dtype), Device.Cpu);
        var pipeline = StableDiffusionPipeline.FromComponents("sd15-random", "random", new PipelineOptions { DType = dtype }, promptEncoder,
            Loaded(new UNet2DConditionModel(UNet2DConditionConfig.Parse(StandardConfigs.Unet(ModelFamily.SD1))), dtype),
            Loaded(new AutoencoderKL(AutoencoderKLConfig.Parse(StandardConfigs.Vae(ModelFamily.SD1))), dtype),
            SchedulerConfig.Parse(TinyModel.SchedulerConfigJson));
        var request = new RenderRequest
        {
            Prompt = "a lighthouse on a cliff at dusk, oil painting",
            Seeds = Enumerable.Range(1, batch).Select(i => (long)i).ToList(),
            Steps = steps,
            Scheduler = "pndm",
            Width = latent * 8,
            Height = latent * 8,
        };
        return () =>
        {
            var clock = Stopwatch.StartNew();
            StepProgress first = default, last = default;
            var images = pipeline.Render(request, progress =>
            {
                if (progress.Step == 1) first = progress;
                last = progress;
                return true;
            });
            // PNDM (skip_prk_steps) runs one UNet step more than asked, as in diffusers.
            var unetSteps = last.Step - first.Step;
            var perStep = unetSteps > 0 ? (last.Elapsed - first.Elapsed).TotalSeconds / unetSteps : first.Elapsed.TotalSeconds;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"    {images.Count} image(s), {last.TotalSteps} UNet steps: {first.Elapsed.TotalSeconds:F2} s to the end of the first (prompt encoding included), then {perStep:F2} s per step, decode and pixels {(clock.Elapsed - last.Elapsed).TotalSeconds:F2} s"));
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

    private static string Load()
    {
        try
        {
            return string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
        }
        catch (IOException)
        {
            return "?";
        }
    }

    private static double PeakResidentMiB()
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
            if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                return long.Parse(line.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024.0;
        return double.NaN;
    }
}

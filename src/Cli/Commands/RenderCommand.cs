using System.CommandLine;
using Farm.Cli.Parsing;
using Farm.Diffusion.Imaging;
using Farm.Diffusion.Models;
using Farm.Diffusion.Pipelines;
using Farm.Diffusion.Torch;
using Farm.Shared.Sweeps;

namespace Farm.Cli.Commands;

/// <summary>
/// `farm render`: one local render without the farm. `--batch N` renders seeds seed … seed+N-1 in one batch,
/// writing NAME-&lt;seed&gt;.png for each.
/// </summary>
internal static class RenderCommand
{
    private static readonly Option<string> ModelOption = FarmOptions.Required("--model", "the model: a diffusers folder or a .safetensors/.ckpt checkpoint", "PATH");
    private static readonly Option<string?> ConfigOption = FarmOptions.Text("--config", "the diffusers config folder for a checkpoint file (else NAME.config/ beside it, else the bundled configs)", "DIR");
    private static readonly Option<string> OutOption = FarmOptions.Required("--out", "the .png to write (with --batch N: NAME-<seed>.png for each seed)", "FILE.png");
    private static readonly Option<string> PromptOption = FarmOptions.Required("--prompt", "what to render", "TEXT");
    private static readonly Option<string?> NegativeOption = FarmOptions.Text("--negative", "the negative prompt", "TEXT");
    private static readonly Option<string?> Prompt2Option = FarmOptions.Text("--prompt-2", "SDXL: the prompt for the second text encoder (else --prompt)", "TEXT");
    private static readonly Option<string?> Negative2Option = FarmOptions.Text("--negative-2", "SDXL: the negative prompt for the second text encoder (else --negative)", "TEXT");
    private static readonly Option<long> SeedOption = FarmOptions.Long("--seed", "the first seed", 0);
    private static readonly Option<int> BatchOption = FarmOptions.Int("--batch", "images in one batch, seeds seed … seed+N-1", 1, min: 1, max: 64);
    private static readonly Option<int> StepsOption = FarmOptions.Int("--steps", "denoising steps", 20, min: 1, max: 1000);
    private static readonly Option<double> CfgOption = FarmOptions.Double("--cfg", "classifier-free guidance scale", 7.5);
    private static readonly Option<string> SchedulerOption = SchedulerNamesCompleted(
        FarmOptions.Text("--scheduler", $"the sampler: {string.Join(", ", SchedulerNames.All)}", "NAME", "euler-a"));
    private static readonly Option<int?> WidthOption = FarmOptions.OptionalInt("--width", "image width, a multiple of 8 (default: the model's native size)");
    private static readonly Option<int?> HeightOption = FarmOptions.OptionalInt("--height", "image height, a multiple of 8 (default: the model's native size)");
    private static readonly Option<string?> InitOption = FarmOptions.Text("--init", "image-to-image: the starting PNG", "FILE.png");
    private static readonly Option<string?> MaskOption = FarmOptions.Text("--mask", "inpainting: a PNG mask, white where to repaint (needs --init)", "FILE.png");
    private static readonly Option<double> StrengthOption = FarmOptions.Double("--strength", "image-to-image: how much of --init to repaint, 0 to 1", 0.8);
    private static readonly Option<int> ClipSkipOption = FarmOptions.Int("--clip-skip", "text encoder layers to skip from the end", 0, min: 0, max: 24);
    private static readonly Option<string[]> LoraOption = FarmOptions.Repeated("--lora", "a LoRA to apply, with an optional scale (repeatable)", "PATH[:SCALE]");
    private static readonly Option<string[]> EmbeddingOption = FarmOptions.Repeated("--embedding", "a textual-inversion embedding, with an optional token (repeatable)", "PATH[:TOKEN]");
    private static readonly Option<string> DeviceOption = FarmOptions.Text("--device", "cpu or cuda[:N]", "DEVICE", "cpu");
    private static readonly Option<string> DTypeOption = FarmOptions.Text("--dtype", "f32, f16 or bf16", "TYPE", "f32");
    private static readonly Option<int?> ThreadsOption = FarmOptions.OptionalInt("--threads", "CPU threads (default: libtorch's choice)", min: 1);

    public static Command Create()
    {
        var command = new Command("render", "render images locally, without the farm")
        {
            ModelOption, ConfigOption, PromptOption, NegativeOption, Prompt2Option, Negative2Option, OutOption, SeedOption, BatchOption,
            StepsOption, CfgOption, SchedulerOption, WidthOption, HeightOption, InitOption, MaskOption, StrengthOption, ClipSkipOption,
            LoraOption, EmbeddingOption, DeviceOption, DTypeOption, ThreadsOption,
        };
        command.SetAction((parse, cancellation) => RunAsync(parse, cancellation));
        return command;
    }

    private static Task<int> RunAsync(ParseResult args, CancellationToken cancellation)
    {
        var modelDir = args.GetValue(ModelOption)!;
        var configDir = args.GetValue(ConfigOption);
        var output = args.GetValue(OutOption)!;
        var seed = args.GetValue(SeedOption);
        var batch = args.GetValue(BatchOption);
        var request = new RenderRequest
        {
            Prompt = args.GetValue(PromptOption)!,
            NegativePrompt = args.GetValue(NegativeOption),
            Seeds = Enumerable.Range(0, batch).Select(i => seed + i).ToList(),
            Steps = args.GetValue(StepsOption),
            GuidanceScale = args.GetValue(CfgOption),
            Scheduler = args.GetValue(SchedulerOption)!,
            Width = args.GetValue(WidthOption),
            Height = args.GetValue(HeightOption),
            InitImage = LoadImage(args.GetValue(InitOption), "--init"),
            Mask = LoadImage(args.GetValue(MaskOption), "--mask"),
            Strength = args.GetValue(StrengthOption),
            Prompt2 = args.GetValue(Prompt2Option),
            NegativePrompt2 = args.GetValue(Negative2Option),
            ClipSkip = args.GetValue(ClipSkipOption),
            Loras = args.GetValue(LoraOption)!.Select(AdapterArguments.Lora).ToList(),
            Embeddings = args.GetValue(EmbeddingOption)!.Select(AdapterArguments.Embedding).ToList(),
        };
        if (request.Mask is not null && request.InitImage is null) throw new UsageException("--mask needs --init (the image to inpaint)");
        var options = new PipelineOptions
        {
            Device = Parse(() => Device.Parse(args.GetValue(DeviceOption)!)),
            DType = Parse(() => ScalarTypes.ParseFloat(args.GetValue(DTypeOption)!)),
            Threads = args.GetValue(ThreadsOption),
        };
        if (!output.EndsWith(".png", StringComparison.OrdinalIgnoreCase)) throw new UsageException($"--out must name a .png file, got '{output}'");

        using var pipeline = ModelLoading.Load(modelDir, options, configDir);
        var bar = new ProgressBar($"render {batch}×{pipeline.ModelName}");
        var images = Parse(() => pipeline.Render(request, p =>
        {
            bar.Report(p.Step, p.TotalSteps, $"step {p.Step}/{p.TotalSteps}");
            return true;
        }, cancellation));
        bar.Done();
        foreach (var image in images)
        {
            var path = batch == 1 ? output : Path.Combine(Path.GetDirectoryName(output) ?? "", $"{Path.GetFileNameWithoutExtension(output)}-{image.Seed}.png");
            var directory = Path.GetDirectoryName(Path.GetFullPath(path));
            if (directory is not null) Directory.CreateDirectory(directory);
            PngEncoder.Save(image.Image, path, image.Metadata.ToPngText());
            Console.WriteLine($"wrote {path} (seed {image.Seed}, {image.Image.Width}x{image.Image.Height})");
        }
        return Task.FromResult(0);
    }

    private static Option<string> SchedulerNamesCompleted(Option<string> option)
    {
        option.CompletionSources.Add([.. SchedulerNames.All]);
        return option;
    }

    private static RgbImage? LoadImage(string? path, string option)
    {
        if (path is null) return null;
        if (!File.Exists(path)) throw new UsageException($"{option}: {path} not found");
        try
        {
            return PngDecoder.Load(path).Image;
        }
        catch (InvalidDataException e)
        {
            throw new UsageException($"{option}: {path} is not a PNG image we can read ({e.Message})");
        }
    }

    /// <summary>
    /// Turns a bad value (ArgumentException) or an adapter file that does not fit the model (a LoRA or embedding
    /// for another family, InvalidDataException / IOException) into a usage error: one line, exit code 2.
    /// </summary>
    private static T Parse<T>(Func<T> parse)
    {
        try
        {
            return parse();
        }
        catch (Exception e) when (e is ArgumentException or InvalidDataException or IOException)
        {
            throw new UsageException(e.Message.ReplaceLineEndings(" "));
        }
    }
}

/// <summary>Loads a pipeline (a diffusers folder or a checkpoint file), turning a missing or broken model into one clear line.</summary>
internal static class ModelLoading
{
    public static StableDiffusionPipeline Load(string modelDir, PipelineOptions options, string? configDir = null)
    {
        try
        {
            return StableDiffusionPipeline.Load(modelDir, options, configDir);
        }
        catch (ModelIndexException e)
        {
            throw new UsageException($"cannot load model '{modelDir}': {string.Join("; ", e.Problems)}");
        }
        catch (Exception e) when (e is IOException or InvalidDataException or ArgumentException or UnauthorizedAccessException)
        {
            throw new UsageException($"cannot load model '{modelDir}': {e.Message}");
        }
    }
}

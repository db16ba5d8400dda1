using Farm.Diffusion.Imaging;
using Farm.Diffusion.Models;
using Farm.Diffusion.Pipelines;
using Farm.Diffusion.Torch;

namespace Farm.Cli.Commands;

/// <summary>
/// `farm render`: one local render without the farm. `--batch N` renders seeds seed … seed+N-1 in one batch,
/// writing NAME-&lt;seed&gt;.png for each.
/// </summary>
internal static class RenderCommand
{
    public static Task<int> RunAsync(CliArgs args, CancellationToken cancellation)
    {
        var modelDir = args.Required("model");
        var configDir = args.String("config");
        var output = args.Required("out");
        var seed = args.Long("seed", 0);
        var batch = args.Int("batch", 1, min: 1, max: 64);
        var request = new RenderRequest
        {
            Prompt = args.Required("prompt"),
            NegativePrompt = args.String("negative"),
            Seeds = Enumerable.Range(0, batch).Select(i => seed + i).ToList(),
            Steps = args.Int("steps", 20, min: 1, max: 1000),
            GuidanceScale = args.Double("cfg", 7.5),
            Scheduler = args.String("scheduler") ?? "euler-a",
            Width = args.String("width") is null ? null : args.Int("width", 0),
            Height = args.String("height") is null ? null : args.Int("height", 0),
            InitImage = LoadImage(args.String("init"), "--init"),
            Mask = LoadImage(args.String("mask"), "--mask"),
            Strength = args.Double("strength", 0.8),
            Prompt2 = args.String("prompt-2"),
            NegativePrompt2 = args.String("negative-2"),
            ClipSkip = args.Int("clip-skip", 0, min: 0, max: 24),
            Loras = args.Strings("lora").Select(AdapterArguments.Lora).ToList(),
            Embeddings = args.Strings("embedding").Select(AdapterArguments.Embedding).ToList(),
        };
        if (request.Mask is not null && request.InitImage is null) throw new UsageException("--mask needs --init (the image to inpaint)");
        var options = new PipelineOptions
        {
            Device = Parse(() => Device.Parse(args.String("device") ?? "cpu")),
            DType = Parse(() => ScalarTypes.ParseFloat(args.String("dtype") ?? "f32")),
            Threads = args.String("threads") is null ? null : args.Int("threads", 0, min: 1),
        };
        args.EnsureAllUsed();
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

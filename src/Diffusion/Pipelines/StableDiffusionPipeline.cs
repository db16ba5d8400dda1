using System.Diagnostics;
using Farm.Diffusion.Adapters;
using Farm.Diffusion.Imaging;
using Farm.Diffusion.Models;
using Farm.Diffusion.Models.Clip;
using Farm.Diffusion.Models.Loading;
using Farm.Diffusion.Models.Unet;
using Farm.Diffusion.Models.Vae;
using Farm.Diffusion.Pipelines.Prompts;
using Farm.Diffusion.Schedulers;
using Farm.Diffusion.Tokenization;
using Farm.Diffusion.Torch;

namespace Farm.Diffusion.Pipelines;

/// <summary>
/// A warm Stable Diffusion pipeline (prompt encoder, UNet, VAE) loaded once, following diffusers'
/// StableDiffusionPipeline / StableDiffusionXLPipeline (and their img2img / inpaint variants) step for step so the
/// same seed gives the same image. One render loop for every family: the family's <see cref="IPromptEncoder"/>
/// decides what conditions the UNet. One render at a time per instance.
/// </summary>
public sealed class StableDiffusionPipeline : IDisposable
{
    private readonly IPromptEncoder promptEncoder;
    private readonly UNet2DConditionModel unet;
    private readonly AutoencoderKL vae;
    private readonly SchedulerConfig schedulerConfig;
    private readonly Lazy<string> modelHash;
    private readonly AdapterCache adapters = new();

    private StableDiffusionPipeline(string modelDir, Func<string> hashWeights, PipelineOptions options, IPromptEncoder promptEncoder,
        UNet2DConditionModel unet, AutoencoderKL vae, SchedulerConfig schedulerConfig)
    {
        ModelDir = modelDir;
        Options = options;
        this.promptEncoder = promptEncoder;
        this.unet = unet;
        this.vae = vae;
        this.schedulerConfig = schedulerConfig;
        modelHash = new Lazy<string>(hashWeights);
    }

    public string ModelDir { get; }

    public PipelineOptions Options { get; }

    /// <summary>The folder name, or the checkpoint's file name without its extension: the name workers announce.</summary>
    public string ModelName => File.Exists(ModelDir) ? Path.GetFileNameWithoutExtension(ModelDir) : Path.GetFileName(Path.TrimEndingDirectorySeparator(ModelDir));

    /// <summary>Short hash of the weights, written into every image's metadata.</summary>
    public string ModelHash => modelHash.Value;

    /// <summary>Pixels per latent cell (8 for SD).</summary>
    public int VaeScaleFactor => vae.Config.ScaleFactor;

    /// <summary>unet.sample_size × the VAE scale factor, as diffusers (64 when a config omits sample_size).</summary>
    public int DefaultSize => (unet.Config.SampleSize ?? 64) * VaeScaleFactor;

    /// <summary>SDXL-style UNet (text_time added conditions): the inpainting path here follows SD1.x's pipeline only.</summary>
    internal bool UsesAddedConditions => unet.Config.AdditionEmbedType is not null;

    /// <summary>
    /// Loads a model from a diffusers folder or a single checkpoint file (.safetensors / .ckpt, SD 1.x, 2.x, SDXL).
    /// <paramref name="configDir"/> (a diffusers folder) gives a checkpoint the architecture and tokenizers a YAML
    /// cannot; only the weights come from the file (<see cref="ModelSource"/>).
    /// </summary>
    public static StableDiffusionPipeline Load(string modelPath, PipelineOptions? options = null, string? configDir = null)
    {
        options ??= new PipelineOptions();
        Precision.EnsureSupported(options.Device, options.DType);
        torch.set_num_threads(options.Threads ?? Environment.ProcessorCount);
        using var source = ModelSource.Open(modelPath, configDir);
        var schedulerConfig = source.SchedulerConfig;
        var promptEncoder = LoadPromptEncoder(source, options);
        UNet2DConditionModel? unet = null;
        AutoencoderKL? vae = null;
        try
        {
            unet = Loaded(new UNet2DConditionModel(source.UnetConfig), source, "unet", options);
            vae = Loaded(new AutoencoderKL(source.VaeConfig), source, "vae", options);
            var (path, config) = (source.Path, configDir);
            return new StableDiffusionPipeline(source.Path, () => ShortHash(path, config), options, promptEncoder, unet, vae, schedulerConfig);
        }
        catch
        {
            promptEncoder.Dispose();
            unet?.Dispose();
            vae?.Dispose();
            throw;
        }
    }

    // A1111's short hash length; the full SHA-256 of the weights is read once, on first use.
    private static string ShortHash(string path, string? configDir)
    {
        using var source = ModelSource.Open(path, configDir);
        return source.Hash[..10];
    }

    private static T Loaded<T>(T model, ModelSource source, string component, PipelineOptions options) where T : Module
    {
        try
        {
            source.LoadInto(model, component, options.DType, options.Device);
            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>SD1.x/2.x: one tokenizer and CLIPTextModel; SDXL: both tokenizers and text encoders.</summary>
    private static IPromptEncoder LoadPromptEncoder(ModelSource source, PipelineOptions options)
    {
        var tokenizer = ClipTokenizer.FromDirectory(source.RequireTokenizerDirectory(0));
        var textEncoder = Loaded(new CLIPTextModel(source.TextEncoderConfig), source, "text_encoder", options);
        if (source.Family != ModelFamily.SDXL) return new ClipPromptEncoder(tokenizer, textEncoder, options.Device);
        try
        {
            var tokenizer2 = ClipTokenizer.FromDirectory(source.RequireTokenizerDirectory(1));
            var textEncoder2 = Loaded(new CLIPTextModelWithProjection(source.TextEncoder2Config!), source, "text_encoder_2", options);
            return new SdxlPromptEncoder(tokenizer, textEncoder, tokenizer2, textEncoder2, source.ForceZerosForEmptyPrompt, options.Device);
        }
        catch
        {
            textEncoder.Dispose();
            throw;
        }
    }

    /// <summary>
    /// A pipeline over components already built and loaded (the benchmark's random-weight models, or another model
    /// source than a diffusers folder); it owns them from here on. <paramref name="name"/> stands in for the model
    /// folder in metadata.
    /// </summary>
    internal static StableDiffusionPipeline FromComponents(string name, string hash, PipelineOptions options, IPromptEncoder promptEncoder,
        UNet2DConditionModel unet, AutoencoderKL vae, SchedulerConfig schedulerConfig) =>
        new(name, () => hash, options, promptEncoder, unet, vae, schedulerConfig);

    private static string WeightsFile(ModelComponent component) =>
        Path.GetFileName(component.WeightsPath ?? throw new InvalidDataException($"{component.Name}: no weights file"));

    /// <summary>Renders one image per seed in one batch; throws OperationCanceledException when the callback returns false or the token fires.</summary>
    public IReadOnlyList<RenderedImage> Render(RenderRequest request, Func<StepProgress, bool>? onStep = null, CancellationToken cancellation = default) =>
        Render(request, Enumerable.Repeat(request.Prompt, request.Seeds.Count).ToList(), onStep, cancellation, observeLatents: null);

    /// <summary>As <see cref="Render(RenderRequest, Func{StepProgress, bool}?, CancellationToken)"/> with one prompt per seed (diffusers' list-of-prompts call).</summary>
    /// <paramref name="observeLatents"/> sees the latents entering the loop (step -1) and after every step, as diffusers' callback_on_step_end.
    internal IReadOnlyList<RenderedImage> Render(RenderRequest request, IReadOnlyList<string> prompts, Func<StepProgress, bool>? onStep,
        CancellationToken cancellation, Action<int, Tensor>? observeLatents)
    {
        var (width, height) = RequestValidation.Validate(request, this);
        var clock = Stopwatch.StartNew();
        using var scheduler = SchedulerFactory.Create(request.Scheduler, schedulerConfig);
        var generators = request.Seeds.Select(s => new Generator(unchecked((ulong)s))).ToList();
        try
        {
            using var scope = torch.NewDisposeScope();
            var guided = request.GuidanceScale > 1.0;
            // LoRAs and embeddings attach for this render only; disposing the scope leaves the base weights as loaded.
            using var applied = request.Loras.Count + request.Embeddings.Count == 0 ? null
                : adapters.Apply(request.Loras, request.Embeddings, new AdapterTargets(unet, promptEncoder.TextEncoders));
            var prompt = EncodePrompts(new PromptInputs(prompts, request.NegativePrompt, guided, request.ClipSkip,
                request.Prompt2, request.NegativePrompt2, height, width, applied is null ? null : applied.Encode));
            scheduler.SetTimesteps(request.Steps);
            using var conditioning = request.InitImage is null ? null
                : ImageConditioning.Create(request, width, height, vae, scheduler, generators, Options.Device, Options.DType);
            var latents = conditioning?.InitialLatents(scheduler)
                ?? InitialLatents(generators, height / VaeScaleFactor, width / VaeScaleFactor, scheduler.InitNoiseSigma);
            observeLatents?.Invoke(-1, latents);
            var timesteps = scheduler.Timesteps;
            var first = conditioning?.FirstIndex ?? 0;
            for (var i = first; i < timesteps.Length; i++)
            {
                cancellation.ThrowIfCancellationRequested();
                latents = Denoise(latents, timesteps[i], prompt, request.GuidanceScale, guided, scheduler, generators);
                if (conditioning is not null) latents = conditioning.AfterStep(latents, i, scheduler);
                observeLatents?.Invoke(i - first, latents);
                if (onStep is not null && !onStep(new StepProgress(i - first + 1, timesteps.Length - first, clock.Elapsed)))
                    throw new OperationCanceledException("render stopped by its step callback");
            }
            var images = Decode(latents);
            return images.Select((image, i) => new RenderedImage(request.Seeds[i], image, Metadata(request, prompts[i], request.Seeds[i], image, applied))).ToList();
        }
        finally
        {
            foreach (var g in generators) g.Dispose();
        }
    }

    /// <summary>One randn([1, C, h, w]) per image from its own generator, then cat, times the scheduler's initial sigma.</summary>
    private Tensor InitialLatents(IReadOnlyList<Generator> generators, int latentHeight, int latentWidth, double initNoiseSigma)
    {
        using var scope = torch.NewDisposeScope();
        var noise = Noise.PerImage(generators, [1, unet.Config.InChannels, latentHeight, latentWidth]);
        var latents = (noise * initNoiseSigma).to(Options.Device);
        return scope.MoveToOuter(latents);
    }

    /// <summary>The UNet's text conditioning as diffusers builds it: cat([negative, positive]) with guidance, positive alone without.</summary>
    internal PromptConditioning EncodePrompts(PromptInputs inputs) => promptEncoder.Encode(inputs);

    private Tensor Denoise(Tensor latents, float t, PromptConditioning prompt, double guidanceScale, bool guided, IScheduler scheduler, IReadOnlyList<Generator> generators)
    {
        using var scope = torch.NewDisposeScope();
        var modelInput = guided ? torch.cat([latents, latents], 0) : latents;
        modelInput = scheduler.ScaleModelInput(modelInput, t);
        var eps = PredictNoise(modelInput, t, prompt);
        if (guided)
        {
            var halves = eps.chunk(2, 0);
            eps = halves[0] + (halves[1] - halves[0]) * guidanceScale;
        }
        var next = scheduler.Step(eps, t, latents, generators);
        return scope.MoveToOuter(next);
    }

    internal Tensor PredictNoise(Tensor modelInput, float t, PromptConditioning prompt)
    {
        using var scope = torch.NewDisposeScope();
        var timestep = torch.scalar(t).to(Options.Device);
        var eps = unet.Forward(modelInput.to(Options.DType), timestep, prompt.EncoderHiddenStates, prompt.Added).to(ScalarType.Float32);
        return scope.MoveToOuter(eps);
    }

    /// <summary>VAE decode of the final latents to 8-bit RGB, as diffusers' postprocess and PIL conversion.</summary>
    internal IReadOnlyList<RgbImage> Decode(Tensor latents)
    {
        using var scope = torch.NewDisposeScope();
        var decoded = vae.Decode((latents / vae.ScalingFactor).to(Options.DType)).to(ScalarType.Float32);
        var pixels = ImageTensors.ToUInt8(decoded);
        return ImageTensors.ToImages(pixels);
    }

    private GenerationMetadata Metadata(RenderRequest request, string prompt, long seed, RgbImage image, AdapterScope? adapters) => new()
    {
        Prompt = prompt,
        NegativePrompt = request.NegativePrompt ?? "",
        Steps = request.Steps,
        Sampler = request.Scheduler,
        CfgScale = request.GuidanceScale,
        Seed = seed,
        Width = image.Width,
        Height = image.Height,
        ModelName = ModelName,
        ModelHash = ModelHash,
        EngineVersion = EngineInfo.Version,
        Strength = request.InitImage is null ? null : request.Strength,
        InitImageHash = request.InitImage is null ? null : ImageTensors.Hash(request.InitImage),
        Masked = request.Mask is null ? null : true,
        DType = Options.DType.ShortName(),
        Device = Options.Device.ToString(),
        Prompt2 = string.IsNullOrEmpty(request.Prompt2) ? null : request.Prompt2,
        NegativePrompt2 = string.IsNullOrEmpty(request.NegativePrompt2) ? null : request.NegativePrompt2,
        ClipSkip = request.ClipSkip == 0 ? null : request.ClipSkip,
        Loras = adapters is { LoraRecords.Count: > 0 } ? adapters.LoraRecords : null,
        Embeddings = adapters is { EmbeddingRecords.Count: > 0 } ? adapters.EmbeddingRecords : null,
    };

    public void Dispose()
    {
        adapters.Dispose();
        promptEncoder.Dispose();
        unet.Dispose();
        vae.Dispose();
    }
}

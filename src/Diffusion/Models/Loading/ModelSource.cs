using System.Security.Cryptography;
using System.Text.Json;
using Farm.Diffusion.Models.Clip;
using Farm.Diffusion.Models.Unet;
using Farm.Diffusion.Models.Vae;
using Farm.Diffusion.Schedulers;
using Farm.Diffusion.Torch;
using Farm.Diffusion.Weights;

namespace Farm.Diffusion.Models.Loading;

/// <summary>
/// One way to load a model: a diffusers folder or one single-file checkpoint (CompVis/LDM SD 1.x, SD 2.x, SGM
/// SDXL; .safetensors or .ckpt). It says which family the model is, gives every component's diffusers config
/// (as config.json text and parsed) and opens each component's weights under diffusers/transformers keys, so a
/// model built from the config loads them with the usual strict <see cref="Module.Load"/>.
/// <para>
/// Where a single file's architecture comes from, first found wins, per component: <c>configDir</c>
/// (<c>DIR/unet/config.json</c>, <c>DIR/vae/config.json</c>, <c>DIR/text_encoder[_2]/config.json</c>,
/// <c>DIR/scheduler/scheduler_config.json</c>, <c>DIR/tokenizer[_2]/</c> — a diffusers folder has this layout);
/// then an A1111-style <c>NAME.yaml</c> beside the file (UNet, VAE, prediction type, betas); then the family's
/// reference configs (<see cref="StandardConfigs"/>). Tokenizers come only from a folder or <c>configDir</c>.
/// </para>
/// The source owns the files it opens; dispose it once the models are loaded.
/// </summary>
internal sealed class ModelSource : IDisposable
{
    private readonly Lazy<string> hash;
    private readonly Dictionary<string, string> configs;
    private readonly Dictionary<string, string> configOrigins;
    private readonly Dictionary<string, string> folderWeights;
    private readonly string?[] tokenizers;
    private readonly List<IDisposable> opened = [];
    private IWeightSource? stored;
    private CheckpointKeyMap? keyMap;

    private ModelSource(string path, bool singleFile, ModelFamily family, Dictionary<string, string> configs, Dictionary<string, string> origins,
        Dictionary<string, string> folderWeights, string?[] tokenizers, bool forceZeros, Func<string> hash)
    {
        Path = path;
        IsSingleFile = singleFile;
        Family = family;
        this.configs = configs;
        configOrigins = origins;
        this.folderWeights = folderWeights;
        this.tokenizers = tokenizers;
        ForceZerosForEmptyPrompt = forceZeros;
        this.hash = new Lazy<string>(hash);
    }

    public string Path { get; }

    /// <summary>The folder name, or the file name without its extension (<c>sdxl-tiny.fp16</c>).</summary>
    public string Name => IsSingleFile ? System.IO.Path.GetFileNameWithoutExtension(Path) : System.IO.Path.GetFileName(Path);

    public bool IsSingleFile { get; }

    public ModelFamily Family { get; }

    /// <summary>SHA-256 of the weights (64 hex digits): of the file, or <see cref="ModelIndex.Hash"/> for a folder. Computed on first use.</summary>
    public string Hash => hash.Value;

    /// <summary>The components this model has: unet, vae, text_encoder and, for SDXL, text_encoder_2.</summary>
    public IReadOnlyList<string> Components => Family == ModelFamily.SDXL
        ? ["unet", "vae", "text_encoder", "text_encoder_2"] : ["unet", "vae", "text_encoder"];

    /// <summary>A component's diffusers config as JSON text (<c>unet</c>, <c>vae</c>, <c>text_encoder</c>, <c>text_encoder_2</c>, <c>scheduler</c>).</summary>
    public string ConfigJson(string component) =>
        configs.TryGetValue(component, out var json) ? json : throw new ArgumentException($"{Name} has no {component} component");

    /// <summary>Where a component's config came from: a file path, <c>NAME.yaml</c> translation or the family's standard config.</summary>
    public string ConfigOrigin(string component) => configOrigins[component];

    /// <summary>Parsed with today's UNet2DConditionConfig: an SDXL config needs the text-time fields of the SDXL branch.</summary>
    public UNet2DConditionConfig UnetConfig => UNet2DConditionConfig.Parse(ConfigJson("unet"), ConfigOrigin("unet"));

    public AutoencoderKLConfig VaeConfig => AutoencoderKLConfig.Parse(ConfigJson("vae"), ConfigOrigin("vae"));

    public CLIPTextConfig TextEncoderConfig => ParseClip("text_encoder");

    /// <summary>SDXL's second text encoder (CLIPTextModelWithProjection); null for SD 1.x/2.x.</summary>
    public CLIPTextConfig? TextEncoder2Config => Family == ModelFamily.SDXL ? ParseClip("text_encoder_2") : null;

    public SchedulerConfig SchedulerConfig => SchedulerConfig.Parse(ConfigJson("scheduler"));

    /// <summary><c>epsilon</c> or <c>v_prediction</c>, from the scheduler config.</summary>
    public string PredictionType => SchedulerConfig.PredictionType;

    /// <summary>SDXL pipelines use a zero embedding for an empty negative prompt (model_index.json's force_zeros_for_empty_prompt).</summary>
    public bool ForceZerosForEmptyPrompt { get; }

    /// <summary>The tokenizer folder (vocab.json, merges.txt) for text_encoder (0) or text_encoder_2 (1), or null when none was given.</summary>
    public string? TokenizerDirectory(int encoder) => encoder < tokenizers.Length ? tokenizers[encoder] : null;

    /// <summary>As <see cref="TokenizerDirectory"/>, or a clear error saying how to provide it.</summary>
    public string RequireTokenizerDirectory(int encoder) => TokenizerDirectory(encoder)
        ?? throw new InvalidDataException(
            $"{Path}: no tokenizer{(encoder == 0 ? "" : "_2")} for this checkpoint: single files hold no tokenizer files. "
            + $"Pass a config folder (--config DIR) holding {(encoder == 0 ? "tokenizer" : "tokenizer_2")}/vocab.json and merges.txt, e.g. the diffusers folder of the base model ({BaseModelName})");

    private string BaseModelName => Family switch
    {
        ModelFamily.SD1 => "runwayml/stable-diffusion-v1-5",
        ModelFamily.SD2 => "stabilityai/stable-diffusion-2-1",
        _ => "stabilityai/stable-diffusion-xl-base-1.0",
    };

    /// <summary>
    /// Opens <paramref name="path"/>: a diffusers folder (model_index.json) or a .safetensors/.ckpt file.
    /// <paramref name="configDir"/> overrides the architecture (see the class summary).
    /// </summary>
    public static ModelSource Open(string path, string? configDir = null)
    {
        var full = System.IO.Path.GetFullPath(path);
        if (configDir is not null && !Directory.Exists(configDir))
            throw new DirectoryNotFoundException($"config folder {configDir} does not exist");
        if (configDir is not null && !ConfigComponents.Any(c => Override(configDir, c) is not null) && TokenizerIn(configDir, "tokenizer") is null)
            throw new InvalidDataException(
                $"config folder {configDir} holds none of {string.Join(", ", ConfigComponents.Select(c => System.IO.Path.GetRelativePath(".", ConfigFile(".", c))))} or tokenizer/: "
                + "give a diffusers model folder or a folder with that layout");
        if (Directory.Exists(full)) return OpenFolder(full, configDir);
        if (!File.Exists(full)) throw new FileNotFoundException($"model {full} does not exist (expected a diffusers folder or a .safetensors/.ckpt file)", full);
        if (!CheckpointFile.IsCheckpoint(full))
            throw new InvalidDataException($"{full}: not a model: expected a diffusers folder (model_index.json) or a .safetensors/.ckpt checkpoint");
        return OpenFile(full, configDir);
    }

    private static ModelSource OpenFolder(string dir, string? configDir)
    {
        var index = ModelIndex.Load(dir);
        using var modelIndex = JsonDocument.Parse(File.ReadAllBytes(System.IO.Path.Combine(dir, "model_index.json")));
        var textEncoderJson = File.ReadAllText(index.TextEncoder.ConfigPath!);
        var family = FamilyDetection.FromPipelineClass(index.PipelineClass, JsonString(textEncoderJson, "hidden_act") ?? "quick_gelu", dir);
        var configs = new Dictionary<string, string>();
        var origins = new Dictionary<string, string>();
        var weights = new Dictionary<string, string>
        {
            ["unet"] = index.Unet.WeightsPath!, ["vae"] = index.Vae.WeightsPath!, ["text_encoder"] = index.TextEncoder.WeightsPath!,
        };
        var components = family == ModelFamily.SDXL ? new[] { "unet", "vae", "text_encoder", "text_encoder_2" } : ["unet", "vae", "text_encoder"];
        foreach (var component in components.Append("scheduler"))
        {
            var file = ConfigFile(dir, component);
            if (!File.Exists(file)) throw new InvalidDataException($"{dir}: {component}/{System.IO.Path.GetFileName(file)} is missing");
            Add(configs, origins, component, Override(configDir, component) ?? file);
        }
        if (family == ModelFamily.SDXL) weights["text_encoder_2"] = FindWeights(System.IO.Path.Combine(dir, "text_encoder_2"), "model");
        string?[] tokenizers = family == ModelFamily.SDXL
            ? [index.Tokenizer.Directory, RequireFolder(dir, "tokenizer_2")]
            : [index.Tokenizer.Directory];
        var forceZeros = modelIndex.RootElement.TryGetProperty("force_zeros_for_empty_prompt", out var fz) && fz.ValueKind is JsonValueKind.True or JsonValueKind.False
            ? fz.GetBoolean() : family == ModelFamily.SDXL;
        return new ModelSource(dir, false, family, configs, origins, weights, tokenizers, forceZeros, () => index.Hash);
    }

    private static ModelSource OpenFile(string file, string? configDir)
    {
        var stored = CheckpointFile.OpenStored(file);
        try
        {
            var family = FamilyDetection.FromKeys(stored.Keys, file);
            var yamlPath = System.IO.Path.ChangeExtension(file, ".yaml");
            var yaml = File.Exists(yamlPath) ? OriginalConfig.Load(yamlPath) : null;
            if (yaml is not null && yaml.IsSgm != (family == ModelFamily.SDXL))
                throw new InvalidDataException(
                    $"{yamlPath}: is {(yaml.IsSgm ? "an SDXL (SGM)" : "an SD 1.x/2.x (LDM)")} config but {System.IO.Path.GetFileName(file)} holds a {family} model; remove or fix the YAML");

            var configs = new Dictionary<string, string>();
            var origins = new Dictionary<string, string>();
            void Set(string component, string? yamlJson, string standard)
            {
                if (Override(configDir, component) is { } path) Add(configs, origins, component, path);
                else if (yamlJson is not null) (configs[component], origins[component]) = (yamlJson, $"{yamlPath} (translated)");
                else (configs[component], origins[component]) = (standard, $"standard {family} {component} config");
            }
            Set("unet", yaml?.UnetJson, StandardConfigs.Unet(family));
            Set("vae", yaml?.VaeJson, StandardConfigs.Vae(family));
            Set("text_encoder", null, StandardConfigs.TextEncoder(family));
            if (family == ModelFamily.SDXL) Set("text_encoder_2", null, StandardConfigs.TextEncoder2);
            Set("scheduler", yaml is null ? null : SchedulerFromYaml(family, yaml), StandardConfigs.Scheduler(family));

            string?[] tokenizers = family == ModelFamily.SDXL
                ? [TokenizerIn(configDir, "tokenizer"), TokenizerIn(configDir, "tokenizer_2")]
                : [TokenizerIn(configDir, "tokenizer")];
            var forceZeros = family == ModelFamily.SDXL;
            if (configDir is not null && File.Exists(System.IO.Path.Combine(configDir, "model_index.json")))
            {
                using var index = JsonDocument.Parse(File.ReadAllBytes(System.IO.Path.Combine(configDir, "model_index.json")));
                if (index.RootElement.TryGetProperty("force_zeros_for_empty_prompt", out var fz) && fz.ValueKind is JsonValueKind.True or JsonValueKind.False)
                    forceZeros = fz.GetBoolean();
            }
            var source = new ModelSource(file, true, family, configs, origins, [], tokenizers, forceZeros, () => FileHash(file));
            source.stored = stored;
            source.opened.Add((IDisposable)stored);
            return source;
        }
        catch
        {
            (stored as IDisposable)?.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The component's weights under diffusers keys (<c>unet</c>, <c>vae</c>, <c>text_encoder</c>, <c>text_encoder_2</c>).
    /// The source is owned by this ModelSource: do not dispose it, dispose the ModelSource after loading.
    /// </summary>
    public IWeightSource OpenWeights(string component)
    {
        if (!Components.Contains(component)) throw new ArgumentException($"{Name} ({Family}) has no {component} component");
        if (!IsSingleFile)
        {
            var weights = SafetensorsWeights.Open(folderWeights[component]);
            opened.Add(weights);
            return weights;
        }
        return new ConvertedWeights(stored!, component, KeyMap.For(component));
    }

    /// <summary>The single file's whole key conversion (null for a folder), built on first use from the file's keys and the configs.</summary>
    public CheckpointKeyMap? KeyMapOrNull => IsSingleFile ? KeyMap : null;

    private CheckpointKeyMap KeyMap => keyMap ??= CheckpointKeyMap.Build(Family, stored!.Keys, Path, ConfigJson("unet"),
        JsonInts(ConfigJson("vae"), "block_out_channels")?.Length ?? 1, JsonInt(ConfigJson("text_encoder"), "num_hidden_layers") ?? 12);

    /// <summary>
    /// Loads <paramref name="component"/> into <paramref name="model"/> (built from this source's config): shapes are
    /// checked first against the stored tensors, naming the stored key and both shapes, then the strict load runs.
    /// </summary>
    public void LoadInto(Module model, string component, ScalarType dtype, Device device)
    {
        var weights = OpenWeights(component);
        if (weights is ConvertedWeights converted) converted.CheckShapes(model.NamedParameters().Select(n => (n.Key, n.Parameter.Shape)));
        model.Load(component.StartsWith("text_encoder", StringComparison.Ordinal) ? new WithoutPositionIds(weights) : weights, dtype, device);
    }

    public void Dispose()
    {
        foreach (var d in opened) d.Dispose();
        opened.Clear();
    }

    /// <summary>transformers writes the <c>position_ids</c> buffer into some text encoder files; it is not a weight.</summary>
    private sealed class WithoutPositionIds(IWeightSource inner) : IWeightSource
    {
        private static bool IsBuffer(string key) => key.EndsWith("embeddings.position_ids", StringComparison.Ordinal);

        public string Description => inner.Description;

        public IEnumerable<string> Keys => inner.Keys.Where(k => !IsBuffer(k));

        public bool Contains(string key) => !IsBuffer(key) && inner.Contains(key);

        public long[] Shape(string key) => inner.Shape(key);

        public Tensor Load(string key, ScalarType dtype, Device device) => inner.Load(key, dtype, device);
    }

    private static string SchedulerFromYaml(ModelFamily family, OriginalConfig yaml)
    {
        var node = System.Text.Json.Nodes.JsonNode.Parse(StandardConfigs.Scheduler(family))!.AsObject();
        if (yaml.PredictionType is { } prediction) node["prediction_type"] = prediction;
        if (yaml.BetaStart is { } start) node["beta_start"] = start;
        if (yaml.BetaEnd is { } end) node["beta_end"] = end;
        return node.ToJsonString();
    }

    private static readonly string[] ConfigComponents = ["unet", "vae", "text_encoder", "text_encoder_2", "scheduler"];

    private static string ConfigFile(string dir, string component) =>
        System.IO.Path.Combine(dir, component, component == "scheduler" ? "scheduler_config.json" : "config.json");

    private static string? Override(string? configDir, string component) =>
        configDir is not null && File.Exists(ConfigFile(configDir, component)) ? System.IO.Path.GetFullPath(ConfigFile(configDir, component)) : null;

    private static void Add(Dictionary<string, string> configs, Dictionary<string, string> origins, string component, string path)
    {
        configs[component] = File.ReadAllText(path);
        origins[component] = path;
    }

    private static string? TokenizerIn(string? configDir, string name)
    {
        if (configDir is null) return null;
        var dir = System.IO.Path.GetFullPath(System.IO.Path.Combine(configDir, name));
        return File.Exists(System.IO.Path.Combine(dir, "vocab.json")) && File.Exists(System.IO.Path.Combine(dir, "merges.txt")) ? dir : null;
    }

    private static string RequireFolder(string dir, string name)
    {
        var folder = System.IO.Path.Combine(dir, name);
        return Directory.Exists(folder) ? folder : throw new InvalidDataException($"{dir}: {name}/ folder is missing (an SDXL model has two tokenizers)");
    }

    private static string FindWeights(string componentDir, string stem)
    {
        foreach (var name in new[] { stem + ".safetensors", stem + ".fp16.safetensors" })
            if (File.Exists(System.IO.Path.Combine(componentDir, name))) return System.IO.Path.Combine(componentDir, name);
        throw new InvalidDataException($"{componentDir}: {stem}.safetensors is missing");
    }

    private CLIPTextConfig ParseClip(string component)
    {
        using var doc = JsonDocument.Parse(ConfigJson(component));
        try
        {
            return CLIPTextConfig.FromJson(doc.RootElement);
        }
        catch (Exception e) when (e is InvalidDataException or InvalidOperationException or FormatException)
        {
            throw new InvalidDataException($"{ConfigOrigin(component)}: {e.Message}", e);
        }
    }

    private static string FileHash(string file)
    {
        using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, FileOptions.SequentialScan);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }

    private static string? JsonString(string json, string key)
    {
        using var doc = JsonDocument.Parse(json);
        return doc.RootElement.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
    }

    private static int? JsonInt(string json, string key)
    {
        using var doc = JsonDocument.Parse(json);
        return doc.RootElement.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetInt32() : null;
    }

    private static int[]? JsonInts(string json, string key)
    {
        using var doc = JsonDocument.Parse(json);
        return doc.RootElement.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.Array ? v.EnumerateArray().Select(e => e.GetInt32()).ToArray() : null;
    }
}

using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Farm.Diffusion.Models;

/// <summary>
/// A Stable Diffusion 1.x/2.x or SDXL model in diffusers' folder layout (<c>model_index.json</c> plus one folder per
/// component; SDXL adds <c>text_encoder_2</c> and <c>tokenizer_2</c>), checked up front so a bad folder fails with every problem named, one line each, before any
/// weight is read. Weights must be safetensors; <c>*.fp16.safetensors</c> variants are accepted.
/// </summary>
internal sealed class ModelIndex
{
    private readonly Lazy<string> hash;

    private ModelIndex(string directory, string pipelineClass, IReadOnlyDictionary<string, ModelComponent> components, bool forceZerosForEmptyPrompt)
    {
        Directory = directory;
        PipelineClass = pipelineClass;
        Components = components;
        ForceZerosForEmptyPrompt = forceZerosForEmptyPrompt;
        hash = new Lazy<string>(ComputeHash);
    }

    public string Directory { get; }

    /// <summary><c>_class_name</c> of model_index.json, e.g. StableDiffusionPipeline.</summary>
    public string PipelineClass { get; }

    public IReadOnlyDictionary<string, ModelComponent> Components { get; }

    public ModelComponent Unet => Components["unet"];
    public ModelComponent Vae => Components["vae"];
    public ModelComponent TextEncoder => Components["text_encoder"];
    public ModelComponent Tokenizer => Components["tokenizer"];
    public ModelComponent Scheduler => Components["scheduler"];

    /// <summary>SDXL (StableDiffusionXLPipeline / StableDiffusionXLImg2ImgPipeline): two text encoders, text_time UNet.</summary>
    public bool IsSdxl => IsSdxlClass(PipelineClass);

    /// <summary>SDXL only: <c>text_encoder_2</c> (CLIPTextModelWithProjection); null for SD1.x/2.x.</summary>
    public ModelComponent? TextEncoder2 => Components.GetValueOrDefault("text_encoder_2");

    public ModelComponent? Tokenizer2 => Components.GetValueOrDefault("tokenizer_2");

    /// <summary>
    /// SDXL's <c>force_zeros_for_empty_prompt</c> (diffusers' default true when absent): with guidance and no negative
    /// prompt the unconditional embeddings are zeros. Always false for SD1.x/2.x, whose pipelines have no such option.
    /// </summary>
    public bool ForceZerosForEmptyPrompt { get; }

    /// <summary>
    /// The full model hash (64 hex digits): SHA-256 over, for text_encoder, text_encoder_2 (SDXL only), unet and vae in
    /// that order, the line
    /// <c>"{component}/{file name}\n{byte length}\n"</c> followed by the file's bytes. The whole content is hashed,
    /// not the safetensors headers plus sizes: fine-tunes of one base model share headers exactly (same keys,
    /// shapes, dtypes, offsets), so only the bytes tell them apart. Configs, tokenizer and scheduler are not part
    /// of it (as A1111's hash covers only the checkpoint). Computed on first use and kept for the lifetime of this
    /// object: ~16 MB for the tiny model is instant; a 2–4 GB SD model reads at disk speed once per process.
    /// </summary>
    public string Hash => hash.Value;

    /// <summary>The first 10 hex digits of <see cref="Hash"/>, the length of A1111's short model hash.</summary>
    public string ShortHash => Hash[..10];

    // Per component: supported classes (empty: any, the scheduler factory decides), the config file (null: none
    // required), other required files, and the weights file stem (null: no weights).
    private static readonly (string Name, string[] Classes, string? Config, string[] Required, string? WeightsStem)[] Expected =
    [
        ("unet", ["UNet2DConditionModel"], "config.json", [], "diffusion_pytorch_model"),
        ("vae", ["AutoencoderKL"], "config.json", [], "diffusion_pytorch_model"),
        ("text_encoder", ["CLIPTextModel"], "config.json", [], "model"),
        ("tokenizer", ["CLIPTokenizer", "CLIPTokenizerFast"], null, ["vocab.json", "merges.txt"], null),
        ("scheduler", [], "scheduler_config.json", [], null),
    ];

    private static readonly (string Name, string[] Classes, string? Config, string[] Required, string? WeightsStem)[] ExpectedSdxl =
    [
        ("text_encoder_2", ["CLIPTextModelWithProjection"], "config.json", [], "model"),
        ("tokenizer_2", ["CLIPTokenizer", "CLIPTokenizerFast"], null, ["vocab.json", "merges.txt"], null),
    ];

    private static bool IsSdxlClass(string pipelineClass) => pipelineClass is "StableDiffusionXLPipeline" or "StableDiffusionXLImg2ImgPipeline";

    /// <summary>
    /// Reads and checks <paramref name="modelDir"/>. <paramref name="variant"/> "fp16" prefers
    /// <c>*.fp16.safetensors</c>; without it the plain file is preferred and the fp16 one used when it is the only one.
    /// </summary>
    /// <exception cref="ModelIndexException">Every problem found, one per line.</exception>
    public static ModelIndex Load(string modelDir, string? variant = null)
    {
        var dir = Path.GetFullPath(modelDir);
        var indexPath = Path.Combine(dir, "model_index.json");
        if (!System.IO.Directory.Exists(dir)) throw new ModelIndexException(dir, [$"model folder {dir} does not exist"]);
        if (!File.Exists(indexPath))
            throw new ModelIndexException(dir, [$"{indexPath} is missing: not a diffusers model folder (for a single .safetensors/.ckpt checkpoint, give the file itself as the model)"]);

        var problems = new List<string>();
        var classes = new Dictionary<string, (string Library, string Class)?>(StringComparer.Ordinal);
        string pipelineClass;
        var forceZeros = true;
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(indexPath));
            var root = doc.RootElement;
            pipelineClass = root.TryGetProperty("_class_name", out var cls) && cls.ValueKind == JsonValueKind.String ? cls.GetString()! : "";
            if (root.TryGetProperty("force_zeros_for_empty_prompt", out var zeros) && zeros.ValueKind is JsonValueKind.True or JsonValueKind.False)
                forceZeros = zeros.GetBoolean();
            foreach (var property in root.EnumerateObject())
            {
                if (property.Name.StartsWith('_') || property.Name == "force_zeros_for_empty_prompt") continue;
                var v = property.Value;
                if (v.ValueKind == JsonValueKind.Array && v.GetArrayLength() == 2
                    && v[0].ValueKind == JsonValueKind.String && v[1].ValueKind == JsonValueKind.String)
                    classes[property.Name] = (v[0].GetString()!, v[1].GetString()!);
                else if (v.ValueKind == JsonValueKind.Array)
                    classes[property.Name] = null; // [null, null]: an absent optional component
            }
        }
        catch (JsonException e)
        {
            throw new ModelIndexException(dir, [$"{indexPath} is not valid JSON: {e.Message}"]);
        }

        var components = new Dictionary<string, ModelComponent>(StringComparer.Ordinal);
        foreach (var (name, allowed, config, required, stem) in IsSdxlClass(pipelineClass) ? [.. Expected, .. ExpectedSdxl] : Expected)
        {
            var componentDir = Path.Combine(dir, name);
            if (!classes.TryGetValue(name, out var entry) || entry is null)
            {
                problems.Add($"model_index.json names no {name} component");
                continue;
            }
            var (library, className) = entry.Value;
            if (allowed.Length > 0 && !allowed.Contains(className))
                problems.Add($"{name}: class {className} is not supported (expected {string.Join(" or ", allowed)})");
            if (!System.IO.Directory.Exists(componentDir))
            {
                problems.Add($"{name}/ folder is missing");
                continue;
            }
            foreach (var file in config is null ? required : required.Prepend(config))
                if (!File.Exists(Path.Combine(componentDir, file)))
                    problems.Add($"{name}/{file} is missing");

            string? weights = null;
            if (stem is not null)
            {
                weights = FindWeights(componentDir, stem, variant, out var problem);
                if (problem is not null) problems.Add($"{name}/: {problem}");
            }
            components[name] = new ModelComponent(name, library, className, componentDir,
                config is null ? null : Path.Combine(componentDir, config), weights);
        }

        if (problems.Count > 0) throw new ModelIndexException(dir, problems);
        return new ModelIndex(dir, pipelineClass, components, IsSdxlClass(pipelineClass) && forceZeros);
    }

    private static string? FindWeights(string componentDir, string stem, string? variant, out string? problem)
    {
        problem = null;
        var plain = Path.Combine(componentDir, stem + ".safetensors");
        var candidates = System.IO.Directory.EnumerateFiles(componentDir, stem + ".*.safetensors")
            .Select(p => (Path: p, Variant: Path.GetFileName(p)[(stem.Length + 1)..^".safetensors".Length]))
            .Where(c => !c.Variant.Contains('.'))
            .OrderBy(c => c.Variant, StringComparer.Ordinal)
            .ToList();

        if (variant is not null)
        {
            var wanted = candidates.FirstOrDefault(c => c.Variant == variant).Path;
            if (wanted is not null) return wanted;
        }
        if (File.Exists(plain)) return plain;
        // Without a requested variant, a lone fp16 file is the model (diffusers needs variant="fp16" for it).
        var fp16 = candidates.FirstOrDefault(c => c.Variant == "fp16").Path;
        if (fp16 is not null) return fp16;
        if (candidates.Count > 0) return candidates[0].Path;

        if (File.Exists(Path.Combine(componentDir, stem + ".safetensors.index.json")))
            problem = $"sharded checkpoint ({stem}.safetensors.index.json) is not supported; save it as one {stem}.safetensors";
        else if (System.IO.Directory.EnumerateFiles(componentDir, "*.bin").Any())
            problem = $"only a PyTorch .bin checkpoint was found; convert to safetensors ({stem}.safetensors)";
        else
            problem = $"{stem}.safetensors is missing";
        return null;
    }

    private string ComputeHash()
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[1 << 20];
        foreach (var component in new[] { TextEncoder, TextEncoder2, Unet, Vae }.OfType<ModelComponent>())
        {
            var path = component.WeightsPath!;
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
            sha.AppendData(Encoding.UTF8.GetBytes($"{component.Name}/{Path.GetFileName(path)}\n{stream.Length}\n"));
            int read;
            while ((read = stream.Read(buffer)) > 0) sha.AppendData(buffer, 0, read);
        }
        return Convert.ToHexStringLower(sha.GetHashAndReset());
    }
}

/// <summary>
/// One component folder: its library and class from model_index.json, its config file (null for the tokenizer,
/// whose files are read from <see cref="Directory"/>) and its weights file (null for tokenizer and scheduler).
/// </summary>
internal sealed record ModelComponent(string Name, string Library, string ClassName, string Directory, string? ConfigPath, string? WeightsPath);

/// <summary>A model folder that cannot be used; <see cref="Problems"/> holds one line per problem.</summary>
internal sealed class ModelIndexException(string modelDir, IReadOnlyList<string> problems)
    : Exception($"{modelDir} is not a usable diffusers model:\n" + string.Join("\n", problems.Select(p => "  " + p)))
{
    public string ModelDirectory { get; } = modelDir;

    public IReadOnlyList<string> Problems { get; } = problems;
}

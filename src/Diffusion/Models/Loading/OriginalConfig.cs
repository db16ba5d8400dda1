using System.Globalization;
using System.Text.Json;
using YamlDotNet.Core;
using YamlDotNet.Serialization;

namespace Farm.Diffusion.Models.Loading;

/// <summary>
/// An original-format config (CompVis <c>v1-inference.yaml</c>, Stability <c>v2-inference(-v).yaml</c>, SGM
/// <c>sd_xl_base.yaml</c>) translated to diffusers UNet and VAE <c>config.json</c> text, as diffusers 0.27.2's
/// <c>create_unet_diffusers_config</c> / <c>create_vae_diffusers_config</c> derive them, with two deliberate
/// differences (docs/decisions.md): heads come from <c>num_head_channels</c> whenever <c>num_heads</c> is absent
/// (diffusers does so only with linear projections), and an SGM UNet with <c>num_classes: sequential</c> gets
/// SDXL's text-time embedding with the size embedders' <c>outdim</c> (diffusers decides by context_dim 2048/1280).
/// What the format cannot say stays at diffusers' defaults: GroupNorm groups 32, the text encoders (named by
/// pretrained architecture), and the sample size (the family's native resolution, as diffusers' set_image_size).
/// </summary>
internal sealed class OriginalConfig
{
    private OriginalConfig(string unetJson, string vaeJson, string? predictionType, double? betaStart, double? betaEnd, bool sgm)
    {
        UnetJson = unetJson;
        VaeJson = vaeJson;
        PredictionType = predictionType;
        BetaStart = betaStart;
        BetaEnd = betaEnd;
        IsSgm = sgm;
    }

    public string UnetJson { get; }

    public string VaeJson { get; }

    /// <summary><c>v_prediction</c> when the YAML says <c>parameterization: "v"</c>, <c>epsilon</c> otherwise.</summary>
    public string? PredictionType { get; }

    /// <summary>LDM's <c>linear_start</c> / <c>linear_end</c> (the scaled-linear beta range), when given.</summary>
    public double? BetaStart { get; }

    public double? BetaEnd { get; }

    /// <summary>A Stability generative-models (SDXL) config rather than a CompVis/LDM one.</summary>
    public bool IsSgm { get; }

    public static OriginalConfig Load(string path)
    {
        object? root;
        try
        {
            root = new DeserializerBuilder().Build().Deserialize<object>(File.ReadAllText(path));
        }
        catch (YamlException e)
        {
            throw new InvalidDataException($"{path}: not valid YAML: {e.Message}", e);
        }
        try
        {
            return Translate(root, path);
        }
        catch (Exception e) when (e is KeyNotFoundException or InvalidCastException or FormatException)
        {
            throw new InvalidDataException($"{path}: not an original Stable Diffusion config this loader understands: {e.Message}", e);
        }
    }

    private static OriginalConfig Translate(object? root, string path)
    {
        var model = Map(Map(root, "root")["model"], "model");
        var p = Map(model["params"], "model.params");
        var sgm = p.ContainsKey("network_config");
        var unet = Map(Map(p[sgm ? "network_config" : "unet_config"], "unet config")["params"], "unet params");
        var ddconfig = Map(Map(Map(p["first_stage_config"], "first_stage_config")["params"], "first_stage_config.params")["ddconfig"], "ddconfig");

        var v = p.TryGetValue("parameterization", out var param) && Str(param) == "v";
        var imageSize = sgm ? 1024 : v ? 768 : 512;

        var modelChannels = Int(unet["model_channels"]);
        var mult = Ints(unet["channel_mult"]);
        var blockOut = mult.Select(m => modelChannels * m).ToArray();
        var attentionResolutions = Ints(unet["attention_resolutions"]);
        var down = new List<string>();
        var up = new List<string>();
        var resolution = 1;
        for (var i = 0; i < blockOut.Length; i++)
        {
            down.Add(attentionResolutions.Contains(resolution) ? "CrossAttnDownBlock2D" : "DownBlock2D");
            if (i != blockOut.Length - 1) resolution *= 2;
        }
        for (var i = 0; i < blockOut.Length; i++)
        {
            up.Add(attentionResolutions.Contains(resolution) ? "CrossAttnUpBlock2D" : "UpBlock2D");
            resolution /= 2;
        }
        var vaeScale = 1 << (Ints(ddconfig["ch_mult"]).Length - 1);

        var heads = unet.TryGetValue("num_heads", out var nh) && nh is not null && Int(nh) > 0
            ? (object)Int(nh)
            : unet.TryGetValue("num_head_channels", out var nhc) && nhc is not null && Int(nhc) > 0
                ? blockOut.Select(c => c / Int(nhc)).ToArray()
                : 8;
        var config = new Dictionary<string, object?>
        {
            ["_class_name"] = "UNet2DConditionModel",
            ["sample_size"] = imageSize / vaeScale,
            ["in_channels"] = Int(unet["in_channels"]),
            ["out_channels"] = Int(unet["out_channels"]),
            ["down_block_types"] = down,
            ["up_block_types"] = up,
            ["block_out_channels"] = blockOut,
            ["layers_per_block"] = IntOrInts(unet["num_res_blocks"]),
            ["cross_attention_dim"] = unet["context_dim"] is List<object> dims ? Int(dims[0]) : Int(unet["context_dim"]),
            ["attention_head_dim"] = heads,
            ["use_linear_projection"] = unet.TryGetValue("use_linear_in_transformer", out var linear) && Bool(linear),
            ["transformer_layers_per_block"] = unet.TryGetValue("transformer_depth", out var depth) && depth is not null ? IntOrInts(depth) : 1,
        };
        if (unet.TryGetValue("disable_self_attentions", out var disable) && disable is List<object> flags)
            config["only_cross_attention"] = flags.Select(Bool).ToArray();
        if (unet.TryGetValue("num_classes", out var classes) && classes is not null)
        {
            if (Str(classes) != "sequential")
                throw new NotSupportedException($"{path}: num_classes {Str(classes)} (class-conditioned UNet) is not supported");
            config["addition_embed_type"] = "text_time";
            config["addition_time_embed_dim"] = SizeEmbedderDim(p, path);
            config["projection_class_embeddings_input_dim"] = Int(unet["adm_in_channels"]);
        }
        var unetJson = JsonSerializer.Serialize(config);

        var ch = Int(ddconfig["ch"]);
        var vaeBlocks = Ints(ddconfig["ch_mult"]).Select(m => ch * m).ToArray();
        var vae = new Dictionary<string, object?>
        {
            ["_class_name"] = "AutoencoderKL",
            ["sample_size"] = imageSize,
            ["in_channels"] = Int(ddconfig["in_channels"]),
            ["out_channels"] = Int(ddconfig["out_ch"]),
            ["down_block_types"] = Enumerable.Repeat("DownEncoderBlock2D", vaeBlocks.Length).ToArray(),
            ["up_block_types"] = Enumerable.Repeat("UpDecoderBlock2D", vaeBlocks.Length).ToArray(),
            ["block_out_channels"] = vaeBlocks,
            ["latent_channels"] = Int(ddconfig["z_channels"]),
            ["layers_per_block"] = Int(ddconfig["num_res_blocks"]),
            ["scaling_factor"] = p.TryGetValue("scale_factor", out var scale) && scale is not null ? Double(scale) : 0.18215,
        };
        double? betaStart = !sgm && p.TryGetValue("linear_start", out var ls) && ls is not null ? Double(ls) : null;
        double? betaEnd = !sgm && p.TryGetValue("linear_end", out var le) && le is not null ? Double(le) : null;
        return new OriginalConfig(unetJson, JsonSerializer.Serialize(vae), v ? "v_prediction" : "epsilon", betaStart, betaEnd, sgm);
    }

    /// <summary>SDXL: the <c>outdim</c> of the ConcatTimestepEmbedderND embedders (256 in sd_xl_base.yaml).</summary>
    private static int SizeEmbedderDim(Dictionary<object, object?> p, string path)
    {
        if (p.TryGetValue("conditioner_config", out var conditioner) && conditioner is not null
            && Map(Map(conditioner, "conditioner_config")["params"], "conditioner_config.params")["emb_models"] is List<object> models)
            foreach (var m in models.Select(x => Map(x, "emb_models entry")))
                if (Str(m["target"]).EndsWith("ConcatTimestepEmbedderND", StringComparison.Ordinal) && m.TryGetValue("params", out var mp) && mp is not null)
                    return Int(Map(mp, "embedder params")["outdim"]);
        throw new InvalidDataException($"{path}: an SGM UNet with num_classes 'sequential' needs the conditioner's ConcatTimestepEmbedderND embedders (their outdim is the time embedding size)");
    }

    private static Dictionary<object, object?> Map(object? node, string what) =>
        node as Dictionary<object, object?> ?? throw new InvalidCastException($"'{what}' is not a mapping");

    private static string Str(object? node) => node as string ?? throw new InvalidCastException($"expected a scalar, found {node?.GetType().Name ?? "null"}");

    private static int Int(object? node) => int.Parse(Str(node), NumberStyles.Integer, CultureInfo.InvariantCulture);

    private static double Double(object? node) => double.Parse(Str(node), NumberStyles.Float, CultureInfo.InvariantCulture);

    private static bool Bool(object? node) => Str(node).ToLowerInvariant() switch
    {
        "true" or "yes" or "on" => true,
        "false" or "no" or "off" => false,
        var s => throw new FormatException($"'{s}' is not a boolean"),
    };

    private static int[] Ints(object? node) => node is List<object> list ? list.Select(x => Int(x)).ToArray() : [Int(node)];

    private static object IntOrInts(object? node) => node is List<object> list ? list.Select(x => Int(x)).ToArray() : Int(node);
}

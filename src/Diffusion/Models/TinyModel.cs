using System.Runtime.InteropServices;
using Farm.Diffusion.Models.Clip;
using Farm.Diffusion.Torch;
using Farm.Diffusion.Weights;

namespace Farm.Diffusion.Models;

/// <summary>
/// Writes a seeded random-weight tiny SD1.x pipeline in diffusers' folder layout, so the farm runs without a
/// downloaded model. The shapes are those of the golden fixture's tiny model (configs copied below) except the
/// text encoder's vocabulary, which is <see cref="TinyModelVocabulary"/>. The UNet and VAE parameter lists are
/// passed in (from those modules' <see cref="Module.NamedParameters"/>, see <see cref="ParametersOf"/>), so this
/// file does not depend on their classes.
/// </summary>
internal static class TinyModel
{
    public const string UnetConfigJson = """
        {
          "_class_name": "UNet2DConditionModel",
          "_diffusers_version": "0.27.2",
          "act_fn": "silu",
          "addition_embed_type": null,
          "addition_embed_type_num_heads": 64,
          "addition_time_embed_dim": null,
          "attention_head_dim": 8,
          "attention_type": "default",
          "block_out_channels": [32, 32, 32, 64],
          "center_input_sample": false,
          "class_embed_type": null,
          "class_embeddings_concat": false,
          "conv_in_kernel": 3,
          "conv_out_kernel": 3,
          "cross_attention_dim": 32,
          "cross_attention_norm": null,
          "down_block_types": ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"],
          "downsample_padding": 1,
          "dropout": 0.0,
          "dual_cross_attention": false,
          "encoder_hid_dim": null,
          "encoder_hid_dim_type": null,
          "flip_sin_to_cos": true,
          "freq_shift": 0,
          "in_channels": 4,
          "layers_per_block": 2,
          "mid_block_only_cross_attention": null,
          "mid_block_scale_factor": 1,
          "mid_block_type": "UNetMidBlock2DCrossAttn",
          "norm_eps": 1e-05,
          "norm_num_groups": 8,
          "num_attention_heads": null,
          "num_class_embeds": null,
          "only_cross_attention": false,
          "out_channels": 4,
          "projection_class_embeddings_input_dim": null,
          "resnet_out_scale_factor": 1.0,
          "resnet_skip_time_act": false,
          "resnet_time_scale_shift": "default",
          "reverse_transformer_layers_per_block": null,
          "sample_size": 8,
          "time_cond_proj_dim": null,
          "time_embedding_act_fn": null,
          "time_embedding_dim": null,
          "time_embedding_type": "positional",
          "timestep_post_act": null,
          "transformer_layers_per_block": 1,
          "up_block_types": ["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"],
          "upcast_attention": false,
          "use_linear_projection": false
        }

        """;

    public const string VaeConfigJson = """
        {
          "_class_name": "AutoencoderKL",
          "_diffusers_version": "0.27.2",
          "act_fn": "silu",
          "block_out_channels": [32, 32, 32, 32],
          "down_block_types": ["DownEncoderBlock2D", "DownEncoderBlock2D", "DownEncoderBlock2D", "DownEncoderBlock2D"],
          "force_upcast": true,
          "in_channels": 3,
          "latent_channels": 4,
          "latents_mean": null,
          "latents_std": null,
          "layers_per_block": 1,
          "norm_num_groups": 8,
          "out_channels": 3,
          "sample_size": 64,
          "scaling_factor": 0.18215,
          "up_block_types": ["UpDecoderBlock2D", "UpDecoderBlock2D", "UpDecoderBlock2D", "UpDecoderBlock2D"]
        }

        """;

    /// <summary>SD1.5's PNDM scheduler config (no timestep_spacing key, as in SD1.5's own file).</summary>
    public const string SchedulerConfigJson = """
        {
          "_class_name": "PNDMScheduler",
          "_diffusers_version": "0.27.2",
          "beta_end": 0.012,
          "beta_schedule": "scaled_linear",
          "beta_start": 0.00085,
          "clip_sample": false,
          "num_train_timesteps": 1000,
          "set_alpha_to_one": false,
          "skip_prk_steps": true,
          "steps_offset": 1,
          "trained_betas": null
        }

        """;

    public const string ModelIndexJson = """
        {
          "_class_name": "StableDiffusionPipeline",
          "_diffusers_version": "0.27.2",
          "feature_extractor": [null, null],
          "image_encoder": [null, null],
          "requires_safety_checker": false,
          "safety_checker": [null, null],
          "scheduler": ["diffusers", "PNDMScheduler"],
          "text_encoder": ["transformers", "CLIPTextModel"],
          "tokenizer": ["transformers", "CLIPTokenizer"],
          "unet": ["diffusers", "UNet2DConditionModel"],
          "vae": ["diffusers", "AutoencoderKL"]
        }

        """;

    /// <summary>
    /// The fixture's CLIPTextModel config (hidden 32, 3 layers, 4 heads, intermediate 37, quick_gelu) over our
    /// vocabulary. Token ids are our bos / eos (not SD1.x's legacy 0 / 2), so pooler_output uses the eos position.
    /// </summary>
    public static CLIPTextConfig TextEncoderConfig => new(
        VocabSize: TinyModelVocabulary.Size,
        HiddenSize: 32,
        IntermediateSize: 37,
        NumHiddenLayers: 3,
        NumAttentionHeads: 4,
        MaxPositionEmbeddings: 77,
        HiddenAct: "quick_gelu",
        LayerNormEps: 1e-5,
        BosTokenId: TinyModelVocabulary.BosId,
        EosTokenId: TinyModelVocabulary.EosId,
        PadTokenId: TinyModelVocabulary.EosId);

    /// <summary>The key and shape of every parameter of a module, which is built (no weights allocated) and disposed.</summary>
    public static IReadOnlyList<(string Key, long[] Shape)> ParametersOf(Func<Module> create)
    {
        using var module = create();
        return module.NamedParameters().Select(p => (p.Key, p.Parameter.Shape)).ToList();
    }

    public static IReadOnlyList<(string Key, long[] Shape)> TextEncoderParameters() =>
        ParametersOf(() => new CLIPTextModel(TextEncoderConfig));

    /// <summary>The seed `farm model init-tiny` and the demo use, so everyone's tiny model is the same.</summary>
    public const int DefaultSeed = 20261122;

    /// <summary>Writes the whole tiny pipeline, with the UNet and VAE key lists taken from our own models.</summary>
    public static void Write(string dir, int seed) =>
        Write(dir, seed,
            () => ParametersOf(() => new Unet.UNet2DConditionModel(Unet.UNet2DConditionConfig.Parse(UnetConfigJson))),
            () => ParametersOf(() => new Vae.AutoencoderKL(Vae.AutoencoderKLConfig.Parse(VaeConfigJson))));

    /// <summary>
    /// Writes the pipeline into <paramref name="dir"/> (created; existing files are overwritten).
    /// <paramref name="unetParameters"/> / <paramref name="vaeParameters"/> list the keys and shapes of
    /// UNet2DConditionModel(<see cref="UnetConfigJson"/>) and AutoencoderKL(<see cref="VaeConfigJson"/>).
    /// The same seed gives byte-identical files on every machine (torch's CPU generator).
    /// </summary>
    public static void Write(string dir, int seed,
        Func<IEnumerable<(string Key, long[] Shape)>> unetParameters,
        Func<IEnumerable<(string Key, long[] Shape)>> vaeParameters)
    {
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "model_index.json"), ModelIndexJson);
        WriteText(dir, "scheduler", "scheduler_config.json", SchedulerConfigJson);
        TinyModelVocabulary.Write(Path.Combine(dir, "tokenizer"));

        // One generator per component, so changing one component's key list leaves the others' weights unchanged.
        var baseSeed = unchecked((ulong)(uint)seed) * 3;
        WriteText(dir, "text_encoder", "config.json", TextEncoderConfig.ToJson());
        WriteWeights(Path.Combine(dir, "text_encoder", "model.safetensors"), TextEncoderParameters(), baseSeed);
        WriteText(dir, "unet", "config.json", UnetConfigJson);
        WriteWeights(Path.Combine(dir, "unet", "diffusion_pytorch_model.safetensors"), unetParameters(), baseSeed + 1);
        WriteText(dir, "vae", "config.json", VaeConfigJson);
        WriteWeights(Path.Combine(dir, "vae", "diffusion_pytorch_model.safetensors"), vaeParameters(), baseSeed + 2);
    }

    private static void WriteText(string dir, string component, string file, string text)
    {
        Directory.CreateDirectory(Path.Combine(dir, component));
        File.WriteAllText(Path.Combine(dir, component, file), text);
    }

    /// <summary>
    /// Random weights that keep activations O(1) through the network, so images are neither NaN nor flat:
    /// biases 0, 1-D weights (norm scales) 1, other weights N(0, 1/fan_in) with fan_in = the product of all
    /// dimensions but the first (Linear in-features, Conv in·k·k, Embedding width). Draws follow the key order.
    /// </summary>
    private static void WriteWeights(string path, IEnumerable<(string Key, long[] Shape)> parameters, ulong seed)
    {
        using var generator = new Generator(seed);
        var tensors = new List<(string, SafetensorsDType, long[], ReadOnlyMemory<byte>)>();
        foreach (var (key, shape) in parameters)
        {
            var count = shape.Aggregate(1L, (a, b) => a * b);
            float[] values;
            if (key.EndsWith(".bias", StringComparison.Ordinal))
            {
                values = new float[count];
            }
            else if (shape.Length == 1)
            {
                values = new float[count];
                Array.Fill(values, 1f);
            }
            else
            {
                var fanIn = shape.Skip(1).Aggregate(1L, (a, b) => a * b);
                using var scope = torch.NewDisposeScope();
                values = (torch.randn(shape, generator) * (1 / Math.Sqrt(fanIn))).ToArray<float>();
            }
            tensors.Add((key, SafetensorsDType.F32, shape, MemoryMarshal.AsBytes(values.AsSpan()).ToArray()));
        }
        SafetensorsWriter.Write(path, tensors, new Dictionary<string, string> { ["format"] = "pt" });
    }
}

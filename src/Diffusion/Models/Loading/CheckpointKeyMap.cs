namespace Farm.Diffusion.Models.Loading;

/// <summary>
/// The whole conversion of one single-file checkpoint as data: for every diffusers tensor of every component, the
/// stored key and the op. Built from the file's key list and the component configs (the UNet's block numbering
/// depends on layers_per_block, the VAE's on its block count, SD 2.x's text encoder on its layer count), without
/// reading a tensor. Keys outside the component prefixes (schedule buffers such as <c>alphas_cumprod</c>, EMA copies
/// <c>model_ema.*</c>) are ignored; a key inside a component prefix that maps to nothing is an error, since it
/// means the file is not the architecture the configs describe.
/// </summary>
internal sealed class CheckpointKeyMap
{
    private readonly Dictionary<string, Dictionary<string, KeyMapping>> components;

    private CheckpointKeyMap(Dictionary<string, Dictionary<string, KeyMapping>> components) => this.components = components;

    public IReadOnlyCollection<string> Components => components.Keys;

    /// <summary>Every diffusers key of <paramref name="component"/> with its source (empty when the file holds none).</summary>
    public IReadOnlyDictionary<string, KeyMapping> For(string component) =>
        components.TryGetValue(component, out var map) ? map : new Dictionary<string, KeyMapping>();

    public IEnumerable<KeyMapping> All => components.Values.SelectMany(c => c.Values);

    /// <param name="unetConfigJson">diffusers UNet config.json text.</param>
    /// <param name="vaeBlocks">The VAE's number of blocks (length of block_out_channels).</param>
    /// <param name="textEncoderLayers">SD 2.x only: the diffusers text encoder's num_hidden_layers (blocks beyond are dropped).</param>
    public static CheckpointKeyMap Build(ModelFamily family, IEnumerable<string> keys, string file, string unetConfigJson, int vaeBlocks, int textEncoderLayers)
    {
        var unet = UnetKeyMap.FromConfigJson(unetConfigJson, "unet config");
        var vae = new VaeKeyMap(vaeBlocks);
        var openClip = family == ModelFamily.SD2 ? new OpenClipKeyMap(textEncoderLayers, projection: false) : new OpenClipKeyMap(null, projection: true);
        var prefixes = new List<(string Prefix, string Component, Func<string, IReadOnlyList<(string, TensorOp)>?> Map)>
        {
            ("model.diffusion_model.", "unet", k => unet.ToDiffusers(k) is { } d ? [(d, TensorOp.Copy)] : null),
            ("first_stage_model.", "vae", k => vae.ToDiffusers(k) is { } d ? [d] : null),
        };
        switch (family)
        {
            case ModelFamily.SD1:
                prefixes.Add((FamilyDetection.Sd1ClipPrefix, "text_encoder", k => HfClip(k)));
                break;
            case ModelFamily.SD2:
                prefixes.Add((FamilyDetection.Sd2OpenClipPrefix, "text_encoder", openClip.ToDiffusers));
                break;
            case ModelFamily.SDXL:
                prefixes.Add((FamilyDetection.SdxlClipPrefix, "text_encoder", k => HfClip(k)));
                prefixes.Add((FamilyDetection.SdxlOpenClipPrefix, "text_encoder_2", openClip.ToDiffusers));
                break;
        }

        var result = prefixes.Select(p => p.Component).Distinct().ToDictionary(c => c, _ => new Dictionary<string, KeyMapping>(StringComparer.Ordinal));
        var unknown = new List<string>();
        foreach (var key in keys)
        {
            var rule = prefixes.FirstOrDefault(p => key.StartsWith(p.Prefix, StringComparison.Ordinal));
            if (rule.Prefix is null || key.StartsWith("first_stage_model.loss.", StringComparison.Ordinal)) continue; // training-only VAE loss state
            var mapped = rule.Map(key[rule.Prefix.Length..]);
            if (mapped is null)
            {
                unknown.Add(key);
                continue;
            }
            foreach (var (target, op) in mapped)
            {
                var mapping = new KeyMapping(rule.Component, target, key, op);
                if (!result[rule.Component].TryAdd(target, mapping))
                    throw new InvalidDataException($"{file}: '{key}' and '{result[rule.Component][target].Source}' both give {rule.Component} tensor '{target}'");
            }
        }
        if (unknown.Count > 0)
            throw new InvalidDataException(
                $"{file}: {unknown.Count} tensor(s) are not part of a {family} model as the configs describe it (is the family or the config right?): "
                + string.Join(", ", unknown.Take(10)) + (unknown.Count > 10 ? ", …" : ""));
        return new CheckpointKeyMap(result);
    }

    private static IReadOnlyList<(string, TensorOp)> HfClip(string key) => HfClipKeyMap.ToDiffusers(key) is { } d ? [(d, TensorOp.Copy)] : [];
}

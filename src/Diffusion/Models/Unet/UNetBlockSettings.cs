namespace Farm.Diffusion.Models.Unet;

/// <summary>The arguments diffusers' get_down_block / get_up_block pass to one block.</summary>
internal sealed record UNetBlockSettings(
    int NumLayers,
    int TransformerLayers,
    long InChannels,
    long OutChannels,
    long TembChannels,
    bool AddSample,
    long Groups,
    double Eps,
    long CrossAttentionDim,
    long NumAttentionHeads,
    bool UseLinearProjection,
    bool OnlyCrossAttention,
    bool UpcastAttention,
    long DownsamplePadding = 1,
    long PrevOutputChannels = 0);

using Farm.Diffusion.Models.Blocks;
using Farm.Diffusion.Models.Layers;
using Farm.Diffusion.Torch;

namespace Farm.Diffusion.Models.Unet;

/// <summary>
/// diffusers' UNet2DConditionModel (the SD1.x / SD2.x noise predictor) for the block types in
/// <see cref="UNetDownBlock.Create"/> / <see cref="UNetUpBlock.Create"/>. Built from its config with unloaded
/// parameters (<see cref="Module.NamedParameters"/> lists every checkpoint key and shape); <see cref="FromDirectory"/>
/// also loads the weights strictly.
/// </summary>
internal sealed class UNet2DConditionModel : Module
{
    public const string WeightsFileName = "diffusion_pytorch_model.safetensors";

    private readonly Conv2d convIn;
    private readonly Timesteps timeProj;
    private readonly TimestepEmbedding timeEmbedding;
    private readonly Timesteps? addTimeProj;
    private readonly TimestepEmbedding? addEmbedding;
    private readonly IReadOnlyList<UNetDownBlock> downBlocks;
    private readonly UNetMidBlock2DCrossAttn? midBlock;
    private readonly IReadOnlyList<UNetUpBlock> upBlocks;
    private readonly GroupNorm convNormOut;
    private readonly Conv2d convOut;

    public UNet2DConditionModel(UNet2DConditionConfig config)
    {
        config.Validate();
        Config = config;
        var channels = config.BlockOutChannels;
        var blocks = channels.Count;
        var timeEmbedDim = config.TimeEmbedDim;

        convIn = Child("conv_in", new Conv2d(config.InChannels, channels[0], config.ConvInKernel, padding: (config.ConvInKernel - 1) / 2));
        timeProj = Child("time_proj", new Timesteps(channels[0], config.FlipSinToCos, config.FreqShift));
        timeEmbedding = Child("time_embedding", new TimestepEmbedding(channels[0], timeEmbedDim));
        if (config.AdditionEmbedType == "text_time")
        {
            addTimeProj = Child("add_time_proj", new Timesteps(config.AdditionTimeEmbedDim!.Value, config.FlipSinToCos, config.FreqShift));
            addEmbedding = Child("add_embedding", new TimestepEmbedding(config.ProjectionClassEmbeddingsInputDim!.Value, timeEmbedDim));
        }

        var down = new List<UNetDownBlock>();
        var outputChannel = channels[0];
        for (var i = 0; i < blocks; i++)
        {
            var inputChannel = outputChannel;
            outputChannel = channels[i];
            down.Add(UNetDownBlock.Create(config.DownBlockTypes[i], new UNetBlockSettings(
                NumLayers: config.LayersPerBlock[i],
                TransformerLayers: config.TransformerLayersPerBlock[i],
                InChannels: inputChannel,
                OutChannels: outputChannel,
                TembChannels: timeEmbedDim,
                AddSample: i != blocks - 1,
                Groups: config.NormNumGroups,
                Eps: config.NormEps,
                CrossAttentionDim: config.CrossAttentionDim[i],
                NumAttentionHeads: config.NumAttentionHeads[i],
                UseLinearProjection: config.UseLinearProjection,
                OnlyCrossAttention: config.OnlyCrossAttention[i],
                UpcastAttention: config.UpcastAttention,
                DownsamplePadding: config.DownsamplePadding)));
        }
        downBlocks = Children("down_blocks", down);

        midBlock = config.MidBlockType switch
        {
            "UNetMidBlock2DCrossAttn" => Child("mid_block", new UNetMidBlock2DCrossAttn(
                channels[^1], timeEmbedDim, config.TransformerLayersPerBlock[^1], config.NormNumGroups, config.NormEps,
                config.NumAttentionHeads[^1], config.CrossAttentionDim[^1], config.UseLinearProjection, config.UpcastAttention)),
            null => null,
            var other => throw new NotSupportedException($"mid block type '{other}' is not supported (UNetMidBlock2DCrossAttn)"),
        };

        var up = new List<UNetUpBlock>();
        outputChannel = channels[^1];
        for (var i = 0; i < blocks; i++)
        {
            var r = blocks - 1 - i; // index into the down-block order of the per-block lists
            var prevOutputChannel = outputChannel;
            outputChannel = channels[r];
            var inputChannel = channels[Math.Max(r - 1, 0)];
            up.Add(UNetUpBlock.Create(config.UpBlockTypes[i], new UNetBlockSettings(
                NumLayers: config.LayersPerBlock[r] + 1,
                TransformerLayers: config.TransformerLayersPerBlock[r],
                InChannels: inputChannel,
                OutChannels: outputChannel,
                TembChannels: timeEmbedDim,
                AddSample: i != blocks - 1,
                Groups: config.NormNumGroups,
                Eps: config.NormEps,
                CrossAttentionDim: config.CrossAttentionDim[r],
                NumAttentionHeads: config.NumAttentionHeads[r],
                UseLinearProjection: config.UseLinearProjection,
                OnlyCrossAttention: config.OnlyCrossAttention[r],
                UpcastAttention: config.UpcastAttention,
                PrevOutputChannels: prevOutputChannel)));
        }
        upBlocks = Children("up_blocks", up);

        convNormOut = Child("conv_norm_out", new GroupNorm(config.NormNumGroups, channels[0], config.NormEps));
        convOut = Child("conv_out", new Conv2d(channels[0], config.OutChannels, config.ConvOutKernel, padding: (config.ConvOutKernel - 1) / 2));
    }

    public UNet2DConditionConfig Config { get; }

    /// <summary>Reads <c>config.json</c> and the weights from a diffusers <c>unet/</c> folder, strictly.</summary>
    public static UNet2DConditionModel FromDirectory(string directory, ScalarType dtype, Device device, string weightsFileName = WeightsFileName)
    {
        var model = new UNet2DConditionModel(UNet2DConditionConfig.FromJson(Path.Combine(directory, "config.json")));
        return LoadedFrom(model, Path.Combine(directory, weightsFileName), dtype, device);
    }

    /// <param name="sample">Noisy latents [B, in_channels, h, w]; h and w need not be multiples of 8.</param>
    /// <param name="timestep">0-d or [B] (or [1]), int64 or float; broadcast to the batch.</param>
    /// <param name="encoderHiddenStates">[B, tokens, cross_attention_dim].</param>
    /// <param name="added">Required by a text_time UNet (SDXL), refused by the others.</param>
    /// <returns>The model output (noise prediction), shaped like <paramref name="sample"/>.</returns>
    public Tensor Forward(Tensor sample, Tensor timestep, Tensor encoderHiddenStates, AddedConditions? added = null)
    {
        using var scope = torch.NewDisposeScope();
        var emb = TimeEmbedding(sample, timestep);
        if (addEmbedding is not null)
        {
            if (added is null) throw new ArgumentException("this UNet (addition_embed_type text_time) needs text_embeds and time_ids", nameof(added));
            emb = emb + AugEmbedding(added, sample.dtype);
        }
        else if (added is not null)
        {
            throw new ArgumentException("this UNet has no added embedding; pass no added conditions", nameof(added));
        }

        var h = convIn.Forward(Config.CenterInputSample ? 2 * sample - 1.0 : sample);
        var skips = new List<Tensor> { h };
        foreach (var block in downBlocks) h = block.Forward(h, emb, encoderHiddenStates, skips);
        if (midBlock is not null) h = midBlock.Forward(h, emb, encoderHiddenStates);

        for (var i = 0; i < upBlocks.Count; i++)
        {
            var block = upBlocks[i];
            var resSamples = skips.GetRange(skips.Count - block.ResnetCount, block.ResnetCount);
            skips.RemoveRange(skips.Count - block.ResnetCount, block.ResnetCount);
            // Always upsample to the next skip's size (diffusers does when a side is not a multiple of 2^levels;
            // otherwise it uses scale_factor 2, which gives the same result).
            (long, long)? upsampleSize = i < upBlocks.Count - 1 ? (skips[^1].size(2), skips[^1].size(3)) : null;
            var next = block.Forward(h, resSamples, emb, encoderHiddenStates, upsampleSize);
            h.Dispose();
            foreach (var skip in resSamples) skip.Dispose();
            h = next;
        }

        // CPU convs leave channels-last activations (ft_nn_conv2d); callers get plain NCHW back.
        var output = convOut.Forward(convNormOut.Forward(h).silu()).contiguous();
        return scope.MoveToOuter(output);
    }

    /// <summary><c>time_embedding(time_proj(t))</c> with t broadcast to the batch of <paramref name="sample"/>: [B, time_embed_dim].</summary>
    internal Tensor TimeEmbedding(Tensor sample, Tensor timestep)
    {
        using var scope = torch.NewDisposeScope();
        var timesteps = timestep.dim() == 0 ? timestep.reshape(1) : timestep;
        if (timesteps.device != sample.device) timesteps = timesteps.to(sample.device);
        timesteps = timesteps.expand(sample.size(0));
        return scope.MoveToOuter(timeEmbedding.Forward(timeProj.Forward(timesteps).to(sample.dtype)));
    }

    /// <summary>text_time: <c>add_time_proj(time_ids.flatten())</c>, [B · 6, addition_time_embed_dim] float32.</summary>
    internal Tensor AddTimeProj(Tensor timeIds)
    {
        using var scope = torch.NewDisposeScope();
        return scope.MoveToOuter(addTimeProj!.Forward(timeIds.reshape(-1)));
    }

    /// <summary>text_time: <c>add_embedding(cat([text_embeds, add_time_proj(time_ids)], -1))</c>, [B, time_embed_dim].</summary>
    internal Tensor AugEmbedding(AddedConditions added, ScalarType dtype)
    {
        using var scope = torch.NewDisposeScope();
        var timeEmbeds = AddTimeProj(added.TimeIds).reshape(added.TextEmbeds.size(0), -1);
        var addEmbeds = torch.cat([added.TextEmbeds, timeEmbeds.to(added.TextEmbeds.dtype)], -1).to(dtype);
        return scope.MoveToOuter(addEmbedding!.Forward(addEmbeds));
    }
}

using Farm.Diffusion.Models.Layers;
using Farm.Diffusion.Torch;

namespace Farm.Diffusion.Models.Vae;

/// <summary>
/// diffusers' AutoencoderKL. <see cref="Decode"/> takes z, the unscaled latent: the pipeline divides the UNet's
/// latents by <see cref="ScalingFactor"/> first (and multiplies an encoded sample by it), as diffusers' pipelines do.
/// </summary>
internal sealed class AutoencoderKL : Module
{
    public const string WeightsFileName = "diffusion_pytorch_model.safetensors";

    private readonly Encoder encoder;
    private readonly Decoder decoder;
    private readonly Conv2d? quantConv;
    private readonly Conv2d? postQuantConv;

    public AutoencoderKL(AutoencoderKLConfig config)
    {
        config.Validate();
        Config = config;
        encoder = Child("encoder", new Encoder(config));
        decoder = Child("decoder", new Decoder(config));
        if (config.UseQuantConv) quantConv = Child("quant_conv", new Conv2d(2 * config.LatentChannels, 2 * config.LatentChannels, 1));
        if (config.UsePostQuantConv) postQuantConv = Child("post_quant_conv", new Conv2d(config.LatentChannels, config.LatentChannels, 1));
    }

    public AutoencoderKLConfig Config { get; }

    public double ScalingFactor => Config.ScalingFactor;

    /// <summary>Reads <c>config.json</c> and the weights from a diffusers <c>vae/</c> folder, strictly.</summary>
    public static AutoencoderKL FromDirectory(string directory, ScalarType dtype, Device device, string weightsFileName = WeightsFileName)
    {
        var model = new AutoencoderKL(AutoencoderKLConfig.FromJson(Path.Combine(directory, "config.json")));
        return LoadedFrom(model, Path.Combine(directory, weightsFileName), dtype, device);
    }

    /// <param name="image">[B, 3, H, W] in [−1, 1].</param>
    /// <returns>The posterior over z (the caller disposes it).</returns>
    public DiagonalGaussianDistribution Encode(Tensor image)
    {
        using var scope = torch.NewDisposeScope();
        var moments = encoder.Forward(image);
        if (quantConv is not null) moments = quantConv.Forward(moments).contiguous();
        var posterior = new DiagonalGaussianDistribution(moments);
        scope.MoveToOuter(posterior.Mean);
        scope.MoveToOuter(posterior.LogVar);
        scope.MoveToOuter(posterior.Std);
        return posterior;
    }

    /// <param name="z">Unscaled latents [B, latent_channels, h, w] (UNet latents / <see cref="ScalingFactor"/>).</param>
    /// <returns>The decoded image [B, 3, 8h, 8w], roughly in [−1, 1] and not clamped.</returns>
    public Tensor Decode(Tensor z)
    {
        using var scope = torch.NewDisposeScope();
        var h = postQuantConv is null ? z : postQuantConv.Forward(z);
        return scope.MoveToOuter(decoder.Forward(h));
    }
}

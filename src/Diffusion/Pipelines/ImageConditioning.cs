using Farm.Diffusion.Imaging;
using Farm.Diffusion.Models.Vae;
using Farm.Diffusion.Schedulers;
using Farm.Diffusion.Torch;

namespace Farm.Diffusion.Pipelines;

/// <summary>
/// The init image (img2img) and mask (inpainting on an ordinary 4-channel UNet) of a render, following diffusers'
/// StableDiffusionImg2ImgPipeline and StableDiffusionInpaintPipeline, random draws included. Per image generator:
/// (1) VAE posterior sample of the init image; (2) the noise; (3) inpaint only: a posterior sample of the masked
/// image, which a 4-channel UNet never uses but whose draw diffusers makes; (4) the scheduler's step noise.
/// </summary>
internal sealed class ImageConditioning : IDisposable
{
    private readonly Tensor imageLatents;
    private readonly Tensor noise;
    private readonly Tensor? latentMask;

    private ImageConditioning(Tensor imageLatents, Tensor noise, Tensor? latentMask, int firstIndex, bool fullStrength)
    {
        this.imageLatents = imageLatents;
        this.noise = noise;
        this.latentMask = latentMask;
        FirstIndex = firstIndex;
        FullStrength = fullStrength;
    }

    /// <summary>Index in the scheduler's timesteps of the first UNet call.</summary>
    public int FirstIndex { get; }

    private bool FullStrength { get; }

    public static ImageConditioning Create(RenderRequest request, int width, int height, AutoencoderKL vae, IScheduler scheduler,
        IReadOnlyList<Generator> generators, Device device, ScalarType dtype)
    {
        var init = request.InitImage!;
        if (init.Width != width || init.Height != height)
            throw new ArgumentException($"init image: is {init.Width}x{init.Height} but the render is {width}x{height}; give the same size or omit width/height");
        if (request.Strength is not (> 0 and <= 1)) throw new ArgumentException($"strength: must be in (0, 1], got {request.Strength}");
        if (request.Mask is { } m && (m.Width != init.Width || m.Height != init.Height))
            throw new ArgumentException($"mask: is {m.Width}x{m.Height} but the init image is {init.Width}x{init.Height}");

        // diffusers' get_timesteps: counted in inference steps, then scaled by the scheduler's order (PNDM's extra call included).
        var steps = request.Steps;
        var initSteps = Math.Min((int)(steps * request.Strength), steps);
        var firstIndex = (steps - initSteps) * scheduler.Order;
        if (firstIndex >= scheduler.Timesteps.Length)
            throw new ArgumentException($"strength: {request.Strength} with {steps} steps leaves no step to run; raise strength or steps");
        scheduler.SetBeginIndex(firstIndex);

        using var scope = torch.NewDisposeScope();
        var pixels = ToModelInput(init).to(dtype, device);
        var imageLatents = SampleLatents(vae, pixels, generators);
        var latentShape = imageLatents.shape.ToArray();
        latentShape[0] = 1;
        var noise = Noise.PerImage(generators, latentShape).to(device);
        Tensor? latentMask = null;
        if (request.Mask is { } mask)
        {
            var binary = BinaryMask(mask).to(device);
            using var keep = binary.lt(0.5).to(pixels.dtype);
            SampleLatents(vae, pixels * keep, generators);
            latentMask = torch.nn.functional.interpolate_nearest(binary, height / vae.Config.ScaleFactor, width / vae.Config.ScaleFactor);
        }
        var conditioning = new ImageConditioning(imageLatents, noise, latentMask, firstIndex, request.Mask is not null && request.Strength >= 1.0);
        scope.MoveToOuter(imageLatents);
        scope.MoveToOuter(noise);
        if (latentMask is not null) scope.MoveToOuter(latentMask);
        return conditioning;
    }

    /// <summary>The latents entering the loop: inpainting at full strength starts from pure noise, otherwise the image noised to the first timestep.</summary>
    public Tensor InitialLatents(IScheduler scheduler)
    {
        if (FullStrength) return noise * scheduler.InitNoiseSigma;
        return scheduler.AddNoise(imageLatents, noise, scheduler.Timesteps[FirstIndex]);
    }

    /// <summary>Inpainting: keep the unmasked area on the image's own trajectory (noised to the next timestep; clean after the last).</summary>
    public Tensor AfterStep(Tensor latents, int index, IScheduler scheduler)
    {
        if (latentMask is null) return latents;
        using var scope = torch.NewDisposeScope();
        var next = index + 1 < scheduler.Timesteps.Length ? scheduler.AddNoise(imageLatents, noise, scheduler.Timesteps[index + 1]) : imageLatents;
        var blended = (1.0 - latentMask) * next + latentMask * latents;
        return scope.MoveToOuter(blended);
    }

    /// <summary>vae.encode(x).latent_dist.sample(generator[i]) per image, times the scaling factor.</summary>
    private static Tensor SampleLatents(AutoencoderKL vae, Tensor pixels, IReadOnlyList<Generator> generators)
    {
        using var scope = torch.NewDisposeScope();
        using var posterior = vae.Encode(pixels);
        var sample = posterior.Sample(generators) * vae.ScalingFactor;
        return scope.MoveToOuter(sample);
    }

    /// <summary>uint8 RGB → [1, 3, H, W] float in [-1, 1], as diffusers' VaeImageProcessor.preprocess.</summary>
    private static Tensor ToModelInput(RgbImage image)
    {
        using var scope = torch.NewDisposeScope();
        var rgb = ToRgb(image);
        var bytes = torch.tensor(rgb.Pixels, image.Height, image.Width, 3);
        var unit = bytes.to(ScalarType.Float32) / 255.0;
        var x = (unit * 2.0 - 1.0).permute(2, 0, 1).unsqueeze(0).contiguous();
        return scope.MoveToOuter(x);
    }

    /// <summary>The mask as diffusers' mask processor makes it: grayscale (PIL's luma), /255, then ≥ 0.5 → 1 else 0; [1, 1, H, W].</summary>
    private static Tensor BinaryMask(RgbImage mask)
    {
        var gray = new byte[mask.Width * mask.Height];
        var p = mask.Pixels;
        for (var i = 0; i < gray.Length; i++)
        {
            gray[i] = mask.Channels switch
            {
                1 or 2 => p[i * mask.Channels],
                _ => (byte)((p[i * mask.Channels] * 19595 + p[i * mask.Channels + 1] * 38470 + p[i * mask.Channels + 2] * 7471 + 0x8000) >> 16),
            };
        }
        using var scope = torch.NewDisposeScope();
        var unit = torch.tensor(gray, 1, 1, mask.Height, mask.Width).to(ScalarType.Float32) / 255.0;
        var binary = unit.ge(0.5).to(ScalarType.Float32);
        return scope.MoveToOuter(binary);
    }

    private static RgbImage ToRgb(RgbImage image)
    {
        if (image.Channels == 3) return image;
        var rgb = new byte[image.Width * image.Height * 3];
        for (var i = 0; i < image.Width * image.Height; i++)
            for (var c = 0; c < 3; c++)
                rgb[i * 3 + c] = image.Pixels[i * image.Channels + (image.Channels >= 3 ? c : 0)];
        return new RgbImage(image.Width, image.Height, 3, rgb);
    }

    public void Dispose()
    {
        imageLatents.Dispose();
        noise.Dispose();
        latentMask?.Dispose();
    }
}

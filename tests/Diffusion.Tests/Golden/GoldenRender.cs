using Farm.Diffusion.Pipelines;
using Xunit;

namespace Farm.Diffusion.Tests.Golden;

/// <summary>
/// The whole-render golden check: renders one image and compares it with diffusers' recording of the same call —
/// the latents entering the loop (when recorded), the latents after every step (1e-4 of their largest magnitude,
/// as the fixture READMEs allow), that every step ran, and the decoded pixels (<see cref="PixelAssert"/>).
/// </summary>
internal static class GoldenRender
{
    /// <param name="initialTolerance">Relative to the initial latents' largest magnitude: 0 for txt2img (the noise
    /// is drawn exactly as diffusers draws it), 1e-4 for img2img (the VAE-encoded init image goes into it).</param>
    public static void AssertMatches(StableDiffusionPipeline pipeline, RenderRequest request, GoldenCase golden, double initialTolerance = 0)
    {
        using var expectedSteps = golden.Tensor("step_latents");
        using var expectedInitial = golden.Has("initial_latents") ? golden.Tensor("initial_latents") : null;
        var tolerance = 1e-4 * expectedSteps.MaxAbs();
        var seen = 0;
        var images = pipeline.Render(request, [request.Prompt], onStep: null, CancellationToken.None, (step, latents) =>
        {
            if (step < 0)
            {
                if (expectedInitial is not null)
                    Close.Assert(expectedInitial, latents, initialTolerance * expectedInitial.MaxAbs(), $"{golden.Id}: initial latents");
                return;
            }
            using var expected = expectedSteps.select(0, step);
            Close.Assert(expected, latents, tolerance, $"{golden.Id}: latents after step {step}");
            seen++;
        });
        Assert.Equal(expectedSteps.size(0), seen);
        using var expectedImage = golden.Tensor("image_uint8");
        PixelAssert.MostlyEqual(expectedImage.ToArray<byte>(), images[0].Image.Pixels, golden.Id);
    }
}

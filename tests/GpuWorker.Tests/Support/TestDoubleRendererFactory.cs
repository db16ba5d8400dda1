using Farm.Diffusion.Imaging;
using Farm.Diffusion.Pipelines;
using Farm.GpuWorker.Rendering;
using Farm.Shared.Contracts;

namespace Farm.GpuWorker.Tests.Support;

/// <summary>
/// Test double for the engine, for messaging tests only: the seed decides every pixel (random bytes, no diffusion);
/// steps can be slowed down to test cancellation, and <paramref name="failure"/> names the exception, if any, a job
/// throws (a <see cref="RenderRejectedException"/> fails it as a bad job; others are retried). With <paramref name="cacheable"/>
/// its inputs have an identity (the model's name standing for its hash), so the render cache serves its images.
/// Tests of rendering use the real engine.
/// </summary>
internal sealed class TestDoubleRendererFactory(string model, Func<TimeSpan> stepDelay, Func<RenderJob, Exception?>? failure = null, bool cacheable = false)
    : IRendererFactory
{
    public IReadOnlyList<string> Models => [model];

    public string Renderer => "test-double";

    public Task<string?> InputsIdentityAsync(RenderJob job, CancellationToken cancellation) =>
        Task.FromResult(cacheable && job.Model == model ? $"test-double:{model}" : null);

    public IImageRenderer Load(string name) => new FakeRenderer(name, stepDelay, failure ?? (_ => null));

    private sealed class FakeRenderer(string name, Func<TimeSpan> stepDelay, Func<RenderJob, Exception?> failure) : IImageRenderer
    {
        public string ModelName => name;

        public IReadOnlyList<RenderedImage> Render(RenderJob job, Assets.JobImages images, Func<int, int, bool> onStep, CancellationToken cancellation)
        {
            if (failure(job) is { } error) throw error;
            for (var step = 1; step <= job.Steps; step++)
            {
                if (stepDelay() > TimeSpan.Zero) Thread.Sleep(stepDelay());
                cancellation.ThrowIfCancellationRequested();
                if (!onStep(step, job.Steps)) throw new OperationCanceledException();
            }
            return job.Seeds.Select(seed =>
            {
                var pixels = new byte[job.Width * job.Height * 3];
                new Random((int)seed).NextBytes(pixels);
                return new RenderedImage(seed, new RgbImage(job.Width, job.Height, 3, pixels), new GenerationMetadata
                {
                    Prompt = job.Prompt, NegativePrompt = job.NegativePrompt, Steps = job.Steps, Sampler = job.Scheduler, CfgScale = job.GuidanceScale, Seed = seed,
                    Width = job.Width, Height = job.Height, ModelName = name, ModelHash = "fake", EngineVersion = "fake",
                });
            }).ToList();
        }

        public void Dispose()
        {
        }
    }
}

using System.Security.Cryptography;
using Farm.Diffusion.Pipelines;
using Farm.Diffusion.Torch;
using Farm.GpuWorker.Models;
using Farm.GpuWorker.Results;
using Farm.GpuWorker.Rendering;
using Farm.GpuWorker.Tests.Support;
using Farm.Shared.Contracts;
using Farm.Testing;
using Xunit;

namespace Farm.GpuWorker.Tests.Results;

/// <summary>
/// The render cache's key on the engine's factory, over the tiny model's real folder: what changes pixels changes the
/// identity (weights, adapter files, precision, every parameter, the seed), and what does not (sweep, index) leaves it.
/// </summary>
public sealed class ImageIdentityTests : IAsyncLifetime
{
    private TinyModels models = null!;

    public async Task InitializeAsync() => models = await TinyModels.CreateAsync(TestServices.UniqueName("tiny"));

    public Task DisposeAsync()
    {
        models.Dispose();
        return Task.CompletedTask;
    }

    private RenderJob Job(string sweep = "s1", long first = 0) =>
        new(sweep, 0, models.Name, "a fox", "", 4, 7.5, "euler-a", 64, 64, first, [1, 2]);

    private IRendererFactory Factory(PipelineOptions? options = null) => new ModelLibraryRendererFactory(ModelLibrary.Scan(models.Dir), options ?? new PipelineOptions());

    [Fact]
    public async Task The_engines_inputs_name_the_weights_hash_and_the_precision_and_nothing_of_the_sweep()
    {
        var inputs = await Factory().InputsIdentityAsync(Job(), CancellationToken.None);
        var weights = await ModelLibrary.Scan(models.Dir)[models.Name].Sha256;
        Assert.Matches("^[0-9a-f]{64}$", weights);
        Assert.Contains("model=sha256:" + weights, inputs);
        Assert.Equal(inputs, await Factory().InputsIdentityAsync(Job("s2", 40), CancellationToken.None));
        Assert.NotEqual(inputs, await Factory(new PipelineOptions { DType = ScalarType.Float16 }).InputsIdentityAsync(Job(), CancellationToken.None));
        Assert.Null(await Factory().InputsIdentityAsync(Job() with { Model = "absent" }, CancellationToken.None));
    }

    [Fact]
    public async Task A_LoRA_enters_by_its_files_hash_and_a_missing_one_makes_the_job_uncacheable()
    {
        var loras = Directory.CreateDirectory(Path.Combine(models.Dir, "loras")).FullName;
        var file = Path.Combine(loras, "style.safetensors");
        await File.WriteAllBytesAsync(file, [1, 2, 3]);
        var job = Job() with { Loras = [new JobLora("style", 0.5)] };
        var factory = Factory();
        var first = await factory.InputsIdentityAsync(job, CancellationToken.None);
        Assert.Contains("lora=style:" + Convert.ToHexStringLower(SHA256.HashData([1, 2, 3])), first);
        Assert.NotEqual(await factory.InputsIdentityAsync(Job(), CancellationToken.None), first);

        await File.WriteAllBytesAsync(file, [4, 5, 6, 7]);
        Assert.NotEqual(first, await factory.InputsIdentityAsync(job, CancellationToken.None));
        Assert.Null(await factory.InputsIdentityAsync(Job() with { Loras = [new JobLora("absent", 1)] }, CancellationToken.None));
    }

    [Fact]
    public void Every_parameter_that_changes_pixels_changes_the_identity_and_the_sweep_and_index_do_not()
    {
        var job = Job();
        var identity = ImageIdentity.For("inputs", job, 1);
        Assert.Matches("^[0-9a-f]{64}$", identity);
        Assert.Equal(identity, ImageIdentity.For("inputs", Job("another-sweep", 99) with { JobIndex = 7 }, 1));
        RenderJob[] changed =
        [
            job with { Model = "same-weights-other-name" }, job with { Prompt = "a cat" }, job with { NegativePrompt = "blurry" }, job with { Prompt2 = "x" }, job with { NegativePrompt2 = "y" },
            job with { Steps = 5 }, job with { GuidanceScale = 7.25 }, job with { Scheduler = "ddim" }, job with { Width = 72 }, job with { Height = 72 },
            job with { ClipSkip = 1 }, job with { Loras = [new JobLora("style", 0.5)] }, job with { Embeddings = ["easynegative"] },
            job with { InitAsset = "abc" }, job with { MaskAsset = "def" }, job with { Strength = 0.5 },
        ];
        var identities = changed.Select(j => ImageIdentity.For("inputs", j, 1)).Append(ImageIdentity.For("inputs", job, 2))
            .Append(ImageIdentity.For("other inputs", job, 1)).Append(identity).ToList();
        Assert.Equal(identities.Count, identities.Distinct().Count());
        Assert.NotEqual(ImageIdentity.For("i", job with { Loras = [new JobLora("style", 0.5)] }, 1), ImageIdentity.For("i", job with { Loras = [new JobLora("style", 1)] }, 1));
    }
}

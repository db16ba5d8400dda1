using Farm.Diffusion.Torch;
using static Farm.Diffusion.Torch.torch.nn.functional;

namespace Farm.Diffusion.Tests.Torch;

/// <summary>
/// Kernels large enough to be tuned run whichever variant was measured fastest on this CPU (kernel_tuning.h), so each
/// variant is forced in turn and must equal the plain computation: a convolution whose only non-zero tap is the
/// centre equals the matrix product it reduces to, a linear layer equals x·Wᵀ + b, and a large attention equals
/// softmax(q·kᵀ·scale)·v. The class runs its tests one at a time, so a forced choice never meets another test here.
/// </summary>
public class KernelTuningTests
{
    private const long Channels = 1280, Side = 16;

    [Theory]
    [InlineData(1, 0, "channels-last")]
    [InlineData(1, 0, "contiguous")]
    [InlineData(1, 0, "im2col")]
    [InlineData(3, 1, "channels-last")]
    [InlineData(3, 1, "contiguous")]
    [InlineData(3, 1, "im2col")]
    [InlineData(3, 1, "winograd")]
    public void Each_convolution_algorithm_with_only_a_centre_tap_equals_the_matrix_product(long kernel, long padding, string algorithm)
    {
        using var forced = KernelTuning.Force("conv", algorithm);
        using var scope = torch.NewDisposeScope();
        using var generator = new Generator(7);
        var x = torch.randn([2, Channels, Side, Side], generator);
        var pointwise = torch.randn([Channels, Channels, 1, 1], generator) * 0.03;
        var bias = torch.randn([Channels], generator);
        var weight = kernel == 1 ? pointwise : pad(pointwise, padding, padding, padding, padding);

        var actual = conv2d(x, weight, bias, stride: 1, padding: padding);

        var rows = x.permute(0, 2, 3, 1).reshape(-1, Channels);
        var expected = (matmul(rows, pointwise.reshape(Channels, Channels).permute(1, 0)) + bias)
            .reshape(2, Side, Side, Channels).permute(0, 3, 1, 2);
        var difference = (actual - expected).abs().max().ToArray<float>()[0];
        Assert.True(difference < 1e-3f, $"largest difference {difference}");
    }

    /// <summary>
    /// Winograd runs a large image in bands of rows, each reading one row of its neighbours: a full 3×3 kernel (not
    /// only its centre) over a map of several bands, with a last band that is not whole Winograd tiles, must equal
    /// libtorch's own direct convolution, in both memory formats.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_winograd_convolution_over_several_bands_equals_the_direct_one(bool channelsLast)
    {
        using var scope = torch.NewDisposeScope();
        using var generator = new Generator(3);
        var x = torch.randn([2, 256, 301, 128], generator);
        if (channelsLast) x = x.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2);  // NHWC in memory
        var weight = torch.randn([64, 256, 3, 3], generator) * 0.02;
        var bias = torch.randn([64], generator);

        Tensor expected, actual;
        using (KernelTuning.Force("conv", "contiguous")) expected = conv2d(x, weight, bias, stride: 1, padding: 1);
        using (KernelTuning.Force("conv", "winograd")) actual = conv2d(x, weight, bias, stride: 1, padding: 1);

        Assert.Equal(expected.shape, actual.shape);
        var largest = expected.abs().max().ToArray<float>()[0];
        var difference = (actual - expected).abs().max().ToArray<float>()[0];
        Assert.True(difference < 1e-5f * largest, $"largest difference {difference} of values up to {largest}");
    }

    [Theory]
    [InlineData("blas")]
    [InlineData("onednn")]
    public void Each_linear_layer_product_equals_the_matrix_product_plus_bias(string gemm)
    {
        using var forced = KernelTuning.Force("linear", gemm);
        using var scope = torch.NewDisposeScope();
        using var generator = new Generator(5);
        var x = torch.randn([2, 1024, 320], generator);
        var weight = torch.randn([640, 320], generator) * 0.05;
        var bias = torch.randn([640], generator);

        var actual = linear(x, weight, bias);

        var expected = matmul(x, weight.permute(1, 0)) + bias;
        Assert.Equal(expected.shape, actual.shape);
        var difference = (actual - expected).abs().max().ToArray<float>()[0];
        Assert.True(difference < 1e-4f, $"largest difference {difference}");
    }

    [Theory]
    [InlineData("tile=0,gemm=blas")]
    [InlineData("tile=0,gemm=onednn")]
    [InlineData("tile=2,gemm=blas")]
    [InlineData("tile=2,gemm=onednn")]
    public void Each_large_attention_path_equals_softmax_of_the_scaled_scores_times_v(string choice)
    {
        using var forced = KernelTuning.Force("attention", choice);
        using var scope = torch.NewDisposeScope();
        using var generator = new Generator(11);
        long heads = 2, tokens = 2048, headDim = 40;
        var q = torch.randn([heads, tokens, headDim], generator);
        var k = torch.randn([heads, tokens, headDim], generator);
        var v = torch.randn([heads, tokens, headDim], generator);
        var scale = 1 / Math.Sqrt(headDim);

        var actual = scaled_dot_product_attention(q, k, v, scale);

        var expected = matmul(softmax(matmul(q, k.permute(0, 2, 1)) * scale, -1), v);
        var difference = (actual - expected).abs().max().ToArray<float>()[0];
        Assert.True(difference < 1e-5f, $"largest difference {difference}");
    }

    [Fact]
    public void The_tuning_cache_names_the_cpu_and_the_libraries_it_was_measured_with()
    {
        _ = torch.get_num_threads();  // loads the native library, which opens the cache
        Assert.NotNull(KernelTuning.CachePath);
        var name = Path.GetFileName(KernelTuning.CachePath);
        Assert.StartsWith($"kernels-v{KernelTuning.CandidateSet}-{CpuInfo.Current.Identity}-libtorch{torch.version}-blas-", name);
        Assert.Contains("kernels measured per shape", KernelTuning.Describe());
        var userCore = Environment.GetEnvironmentVariable("OPENBLAS_CORETYPE");
        string[] avx512 = ["avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"];
        var expectedCore = userCore ?? (avx512.All(CpuInfo.Current.Has) ? "SkylakeX" : "auto");
        Assert.EndsWith($"-blas-{expectedCore.ToLowerInvariant()}.txt", name);
    }
}

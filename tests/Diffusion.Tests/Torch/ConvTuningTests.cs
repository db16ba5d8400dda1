using Farm.Diffusion.Torch;
using static Farm.Diffusion.Torch.torch.nn.functional;

namespace Farm.Diffusion.Tests.Torch;

/// <summary>
/// Convolutions large enough to be tuned run whichever algorithm was measured fastest (conv_tuning.cpp); whichever
/// it is, a convolution whose only non-zero tap is the centre must equal the matrix product it reduces to.
/// </summary>
public class ConvTuningTests
{
    private const long Channels = 1280, Side = 16;

    [Theory]
    [InlineData(1, 0)]
    [InlineData(3, 1)]
    public void A_tuned_convolution_with_only_a_centre_tap_equals_the_matrix_product(long kernel, long padding)
    {
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

    [Fact]
    public void The_tuning_cache_names_the_cpu_and_the_libraries_it_was_measured_with()
    {
        _ = torch.get_num_threads();  // loads the native library, which opens the cache
        Assert.NotNull(ConvTuning.CachePath);
        var name = Path.GetFileName(ConvTuning.CachePath);
        Assert.StartsWith($"conv-{CpuInfo.Current.Identity}-libtorch{torch.version}-blas-", name);
        Assert.Contains("conv algorithm", ConvTuning.Describe());
    }
}

using Farm.Diffusion.Tests.Golden;
using Farm.Diffusion.Torch;

namespace Farm.Diffusion.Tests.Torch;

public class TensorTests
{
    [SkippableFact]
    public void Randn_from_a_seeded_generator_reproduces_torch_randn_bit_for_bit()
    {
        using var golden = GoldenCase.Open("scheduler_ddim_10");
        var seed = golden.Params.GetProperty("seed").GetUInt64();
        using var expected = golden.Tensor("noise0");
        using var generator = new Generator(seed);
        using var actual = torch.randn(expected.shape, generator);
        Assert.Equal(expected.ToArray<float>(), actual.ToArray<float>());
    }

    [Fact]
    public void A_libtorch_error_becomes_an_exception_with_its_message()
    {
        using var a = torch.zeros([2, 3]);
        using var b = torch.zeros([4, 5]);
        var error = Assert.Throws<TorchException>(() => a.add(b));
        Assert.Contains("size of tensor", error.Message);
    }

    [Fact]
    public void A_dispose_scope_frees_its_tensors_but_not_the_ones_moved_out()
    {
        Tensor kept, temporary;
        using (var scope = torch.NewDisposeScope())
        {
            temporary = torch.ones([3]);
            kept = scope.MoveToOuter(temporary * 2.0);
        }
        Assert.True(temporary.IsDisposed);
        Assert.False(kept.IsDisposed);
        Assert.Equal([2f, 2f, 2f], kept.ToArray<float>());
        kept.Dispose();
    }

    [Fact]
    public void Scalar_first_division_follows_python_reciprocal_then_multiply()
    {
        using var x = torch.tensor([3f, 7f], 2);
        using var viaOperator = 2.0 / x;
        using var reciprocal = x.reciprocal();
        using var viaReciprocal = reciprocal * 2.0;
        Assert.Equal(viaReciprocal.ToArray<float>(), viaOperator.ToArray<float>());
    }

    [Fact]
    public void In_place_forms_give_the_same_values_as_the_out_of_place_ones_into_the_same_tensor()
    {
        using var g = new Generator(11);
        using var x = torch.randn([3, 1000], g);
        using var silu = x.silu();
        using var scaled = x * 0.125;
        using var y = x.clone();
        Assert.Same(y, y.silu_());
        Assert.Equal(silu.ToArray<float>(), y.ToArray<float>());
        using var z = x.clone();
        Assert.Same(z, z.mul_(0.125));
        Assert.Equal(scaled.ToArray<float>(), z.ToArray<float>());
    }

    [Theory]
    [InlineData(4 << 20)]            // exactly one large block: two huge pages
    [InlineData((9 << 20) + 4)]      // the tail past the last 2 MiB boundary is mapped in 4 KiB pages
    [InlineData((145 << 20) + 4100)] // the size of CLIP's token embedding, give or take
    public void Large_tensors_are_usable_to_their_last_element(int bytes)
    {
        var count = bytes / sizeof(float);
        using var values = torch.ones([count]).mul_(2.0);
        using var first = values.narrow(0, 0, 1);
        using var last = values.narrow(0, count - 1, 1);
        Assert.Equal([2f], first.ToArray<float>());
        Assert.Equal([2f], last.ToArray<float>());
    }

    [Fact]
    public void Chunked_attention_equals_attention_in_one_piece()
    {
        using var g = new Generator(7);
        using var q = torch.randn([4, 64, 16], g);
        using var k = torch.randn([4, 80, 16], g);
        using var v = torch.randn([4, 80, 16], g);
        using var whole = torch.nn.functional.scaled_dot_product_attention(q, k, v, 0.25, maxScoreBytes: 0);
        using var chunked = torch.nn.functional.scaled_dot_product_attention(q, k, v, 0.25, maxScoreBytes: 64 * 80 * 4);
        Assert.Equal(whole.ToArray<float>(), chunked.ToArray<float>());
        using var scores = torch.nn.functional.bmm(q, k.transpose(1, 2)) * 0.25;
        using var reference = torch.nn.functional.bmm(torch.nn.functional.softmax(scores, -1), v);
        Golden.Close.Assert(reference, whole, 1e-5, "attention vs softmax(q·kᵀ)·v");
    }
}

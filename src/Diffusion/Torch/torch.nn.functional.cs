using static Farm.Diffusion.Torch.NativeMethods;

#pragma warning disable CS8981 // lower-case names on purpose: the surface mirrors TorchSharp / PyTorch

namespace Farm.Diffusion.Torch;

public static partial class torch
{
    public static partial class nn
    {
        /// <summary>The <c>torch.nn.functional</c> ops the models use.</summary>
        public static class functional
        {
            private static IntPtr Optional(Tensor? t) => t?.Handle ?? IntPtr.Zero;

            public static Tensor linear(Tensor x, Tensor weight, Tensor? bias = null) =>
                Tensor.Wrap(ft_nn_linear(x.Handle, weight.Handle, Optional(bias), out var r), r);

            public static Tensor conv2d(Tensor x, Tensor weight, Tensor? bias = null, long stride = 1, long padding = 0) =>
                Tensor.Wrap(ft_nn_conv2d(x.Handle, weight.Handle, Optional(bias), stride, padding, out var r), r);

            public static Tensor group_norm(Tensor x, long groups, Tensor? weight, Tensor? bias, double eps) =>
                Tensor.Wrap(ft_nn_group_norm(x.Handle, groups, Optional(weight), Optional(bias), eps, out var r), r);

            /// <summary>Layer norm over the last dimension.</summary>
            public static Tensor layer_norm(Tensor x, Tensor? weight, Tensor? bias, double eps) =>
                Tensor.Wrap(ft_nn_layer_norm(x.Handle, Optional(weight), Optional(bias), eps, out var r), r);

            public static Tensor softmax(Tensor x, long dim) => Tensor.Wrap(ft_nn_softmax(x.Handle, dim, out var r), r);

            public static Tensor silu(Tensor x) => x.silu();

            public static Tensor gelu(Tensor x, bool tanhApproximation = false) => x.gelu(tanhApproximation);

            public static Tensor bmm(Tensor a, Tensor b) => Tensor.Wrap(ft_nn_bmm(a.Handle, b.Handle, out var r), r);

            public static Tensor matmul(Tensor a, Tensor b) => Tensor.Wrap(ft_nn_matmul(a.Handle, b.Handle, out var r), r);

            public static Tensor baddbmm(Tensor input, Tensor a, Tensor b, double beta, double alpha) =>
                Tensor.Wrap(ft_nn_baddbmm(input.Handle, a.Handle, b.Handle, beta, alpha, out var r), r);

            /// <summary>F.interpolate(x, size=(height, width), mode="nearest").</summary>
            public static Tensor interpolate_nearest(Tensor x, long height, long width) =>
                Tensor.Wrap(ft_nn_upsample_nearest(x.Handle, height, width, out var r), r);

            /// <summary>F.pad on the last two dimensions: (left, right, top, bottom).</summary>
            public static Tensor pad(Tensor x, long left, long right, long top, long bottom, double value = 0) =>
                Tensor.Wrap(ft_nn_pad(x.Handle, left, right, top, bottom, value, out var r), r);

            public static Tensor embedding(Tensor ids, Tensor weight) => Tensor.Wrap(ft_nn_embedding(weight.Handle, ids.Handle, out var r), r);

            /// <summary>
            /// softmax(q·kᵀ·scale)·v over [batch·heads, tokens, head_dim], exactly as diffusers' AttnProcessor on
            /// torch 1.13, computed a group of heads at a time so at most <paramref name="maxScoreBytes"/> of
            /// scores exist at once (0 = unbounded).
            /// </summary>
            public static Tensor scaled_dot_product_attention(Tensor q, Tensor k, Tensor v, double scale, long maxScoreBytes = 256L << 20) =>
                Tensor.Wrap(ft_nn_attention(q.Handle, k.Handle, v.Handle, scale, maxScoreBytes, out var r), r);
        }
    }
}

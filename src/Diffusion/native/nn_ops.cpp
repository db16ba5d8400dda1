// Neural-network ops (torch.nn.functional equivalents).
#include "ft_common.h"

namespace {
c10::optional<at::Tensor> maybe(ft_tensor t) { return t ? c10::optional<at::Tensor>(*t) : c10::nullopt; }
}  // namespace

FT_EXPORT int ft_nn_linear(ft_tensor x, ft_tensor weight, ft_tensor bias, ft_tensor* out) {
  return ft::guard([&] { ft::put(out, ft::tuned_linear(*x, *weight, maybe(bias))); });
}

// On CPU, each convolution shape runs the algorithm measured fastest for it on this CPU (conv_tuning.cpp).
FT_EXPORT int ft_nn_conv2d(ft_tensor x, ft_tensor weight, ft_tensor bias, int64_t stride, int64_t padding, ft_tensor* out) {
  return ft::guard([&] {
    if (x->is_cpu() && x->dim() == 4 && at::globalContext().userEnabledMkldnn() &&
        (x->scalar_type() == at::kFloat || x->scalar_type() == at::kBFloat16)) {
      ft::put(out, ft::tuned_conv2d(*x, *weight, maybe(bias), stride, padding));
      return;
    }
    ft::put(out, at::conv2d(*x, *weight, maybe(bias), {stride, stride}, {padding, padding}));
  });
}

FT_EXPORT int ft_nn_group_norm(ft_tensor x, int64_t groups, ft_tensor weight, ft_tensor bias, double eps, ft_tensor* out) {
  return ft::guard([&] { ft::put(out, at::group_norm(*x, groups, maybe(weight), maybe(bias), eps)); });
}

// Normalises over the last dimension.
FT_EXPORT int ft_nn_layer_norm(ft_tensor x, ft_tensor weight, ft_tensor bias, double eps, ft_tensor* out) {
  return ft::guard([&] { ft::put(out, at::layer_norm(*x, {x->size(-1)}, maybe(weight), maybe(bias), eps)); });
}

FT_EXPORT int ft_nn_softmax(ft_tensor x, int64_t dim, ft_tensor* out) {
  return ft::guard([&] { ft::put(out, at::softmax(*x, dim)); });
}

FT_EXPORT int ft_nn_bmm(ft_tensor a, ft_tensor b, ft_tensor* out) {
  return ft::guard([&] { ft::put(out, at::bmm(*a, *b)); });
}

FT_EXPORT int ft_nn_matmul(ft_tensor a, ft_tensor b, ft_tensor* out) {
  return ft::guard([&] { ft::put(out, at::matmul(*a, *b)); });
}

FT_EXPORT int ft_nn_baddbmm(ft_tensor input, ft_tensor a, ft_tensor b, double beta, double alpha, ft_tensor* out) {
  return ft::guard([&] { ft::put(out, at::baddbmm(*input, *a, *b, beta, alpha)); });
}

// Nearest-neighbour resize to an explicit size (F.interpolate(x, size=(h, w), mode="nearest")).
FT_EXPORT int ft_nn_upsample_nearest(ft_tensor x, int64_t height, int64_t width, ft_tensor* out) {
  return ft::guard([&] { ft::put(out, at::upsample_nearest2d(*x, {height, width})); });
}

// F.pad(x, (left, right, top, bottom), value=value) on the last two dimensions.
FT_EXPORT int ft_nn_pad(ft_tensor x, int64_t left, int64_t right, int64_t top, int64_t bottom, double value, ft_tensor* out) {
  return ft::guard([&] { ft::put(out, at::constant_pad_nd(*x, {left, right, top, bottom}, value)); });
}

FT_EXPORT int ft_nn_embedding(ft_tensor weight, ft_tensor ids, ft_tensor* out) {
  return ft::guard([&] { ft::put(out, at::embedding(*weight, *ids)); });
}

// 3×3, stride-1 float convolutions by oneDNN's Winograd F(4×4, 3×3) kernels, a candidate of conv_tuning.cpp.
// libtorch 1.13 only asks oneDNN for direct convolutions; Winograd does about a third of their multiplications and
// measured 2.8–3.2× faster on the VAE's and UNet's 3×3 shapes on an AVX-512 CPU (docs/benchmarks.md). It needs
// oneDNN's blocked layout, so input and output are reordered around it, and its weights are transformed per call.
// Results differ from the direct convolution by float rounding (~2e-6 relative, measured on those shapes).
#pragma once
#include <torch/torch.h>

namespace ft::winograd {

// Whether the shape is one Winograd kernels are made for: float, CPU, 3×3, stride 1, padding ≤ 1, one group.
bool shaped_for(const at::Tensor& x, const at::Tensor& w, int64_t stride, int64_t padding);

// Whether this CPU can run `x` ⊛ `w` this way: float, CPU, 3×3, stride 1, one group, and a oneDNN kernel for it.
bool supports(const at::Tensor& x, const at::Tensor& w, const c10::optional<at::Tensor>& b, int64_t stride, int64_t padding);

// conv2d(x, w, b, stride 1, padding) with the output in x's memory format (channels-last or contiguous).
at::Tensor conv2d(const at::Tensor& x, const at::Tensor& w, const c10::optional<at::Tensor>& b, int64_t padding);

}  // namespace ft::winograd

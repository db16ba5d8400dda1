// Which matrix product runs a CPU linear layer, chosen per shape by measuring on the running CPU.
//
// libtorch 1.13 sends every f32 linear layer to the BLAS (OpenBLAS on Debian). oneDNN, which libtorch already loads
// for its convolutions, has its own sgemm that picks its kernels by the CPU's features, not by model: on a CPU newer
// than the OpenBLAS build it runs AVX-512 where OpenBLAS falls back to AVX2, and measured 2–3× faster on the UNet's
// shapes on a Zen 5 (docs/benchmarks.md). Which is faster depends on the CPU and the BLAS, so both run the first
// time a shape is seen and the faster is kept (kernel_tuning.h). FARM_LINEAR_GEMM=blas|onednn fixes one.
// The two sum in different orders: outputs differ by float rounding only.
#include "kernel_tuning.h"
#include "onednn_gemm.h"
#include <sstream>

namespace {

enum class Gemm { Blas, OneDnn };
const std::vector<const char*> kNames = {"blas", "onednn"};
constexpr double kMinTunedMacs = 2e7;  // as for convolutions: tiny layers (and the test models) keep one path

// FARM_LINEAR_GEMM, read once: nullopt for auto (measure).
std::optional<Gemm> fixed_gemm() {
  static const std::optional<int> fixed = ft::tuning::fixed_by_environment("FARM_LINEAR_GEMM", kNames);
  if (!fixed) return std::nullopt;
  return static_cast<Gemm>(*fixed);
}

// x [..., K] · weightᵀ [K, N] + bias through oneDNN's sgemm.
at::Tensor linear_onednn(const at::Tensor& x, const at::Tensor& weight, const c10::optional<at::Tensor>& bias) {
  const int64_t k = weight.size(1), n = weight.size(0);
  auto rows = x.reshape({-1, k}).contiguous();
  auto w = weight.contiguous();
  const int64_t m = rows.size(0);
  auto out = at::empty({m, n}, x.options());
  float beta = 0.0f;
  if (bias && bias->defined()) {
    out.copy_(bias->expand({m, n}));
    beta = 1.0f;
  }
  ft::onednn::sgemm('N', 'T', m, n, k, 1.0f, rows.data_ptr<float>(), k, w.data_ptr<float>(), k, beta, out.data_ptr<float>(), n);
  auto sizes = x.sizes().vec();
  sizes.back() = n;
  return out.view(sizes);
}

at::Tensor run(Gemm gemm, const at::Tensor& x, const at::Tensor& w, const c10::optional<at::Tensor>& b) {
  return gemm == Gemm::OneDnn ? linear_onednn(x, w, b) : at::linear(x, w, b);
}

}  // namespace

namespace ft {

at::Tensor tuned_linear(const at::Tensor& x, const at::Tensor& w, const c10::optional<at::Tensor>& b) {
  const bool eligible = x.is_cpu() && x.scalar_type() == at::kFloat && w.scalar_type() == at::kFloat && w.dim() == 2 &&
                        x.dim() >= 1 && x.size(-1) == w.size(1) && onednn::available();
  if (!eligible) return at::linear(x, w, b);
  if (auto fixed = fixed_gemm()) return run(*fixed, x, w, b);
  const int64_t m = x.numel() / x.size(-1);
  if (double(m) * double(w.numel()) < kMinTunedMacs) return at::linear(x, w, b);
  std::ostringstream key;
  key << "linear:" << m << 'x' << w.size(1) << 'x' << w.size(0) << (b && b->defined() ? ":bias" : "") << ":t" << at::get_num_threads();
  if (auto known = tuning::find(key.str()))
    if (auto index = tuning::index_of(*known, kNames)) return run(static_cast<Gemm>(*index), x, w, b);
  auto gemm = static_cast<Gemm>(tuning::fastest(2, [&](int i) { return run(static_cast<Gemm>(i), x, w, b); }));
  tuning::remember(key.str(), kNames[static_cast<int>(gemm)]);
  return run(gemm, x, w, b);
}

}  // namespace ft

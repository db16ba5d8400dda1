// Which matrix product runs a CPU linear layer, chosen per shape by measuring on the running CPU.
//
// libtorch 1.13 sends every f32 linear layer to the BLAS (OpenBLAS on Debian). oneDNN, which libtorch already loads
// for its convolutions, has its own sgemm that picks its kernels by the CPU's features, not by model: on a CPU newer
// than the OpenBLAS build it runs AVX-512 where OpenBLAS falls back to AVX2, and measured 2–3× faster on the UNet's
// shapes on a Zen 5 (docs/benchmarks.md). Which is faster depends on the CPU and the BLAS, so both run the first
// time a shape is seen and the faster is kept (kernel_tuning.h). FARM_LINEAR_GEMM=blas|onednn fixes one.
// The two sum in different orders: outputs differ by float rounding only.
#include "kernel_tuning.h"
#include <dlfcn.h>
#include <cstdlib>
#include <cstring>
#include <sstream>

namespace {

// dnnl_sgemm from oneDNN's C API: row-major C = alpha·op(A)·op(B) + beta·C; returns dnnl_success (0) on success.
using Sgemm = int (*)(char, char, int64_t, int64_t, int64_t, float, const float*, int64_t, const float*, int64_t, float, float*, int64_t);

// oneDNN's sgemm from the copy libtorch loaded (a libtorch that links oneDNN statically hides it: then null).
Sgemm onednn_sgemm() {
  static const Sgemm found = [] () -> Sgemm {
    void* library = dlopen("libdnnl.so.2", RTLD_NOW | RTLD_NOLOAD);
    if (!library) return nullptr;
    return reinterpret_cast<Sgemm>(dlsym(library, "dnnl_sgemm"));
  }();
  return found;
}

enum class Gemm { Blas, OneDnn };
constexpr const char* kNames[] = {"blas", "onednn"};
constexpr double kMinTunedMacs = 2e7;  // as for convolutions: tiny layers (and the test models) keep one path

bool parse(const std::string& name, Gemm* gemm) {
  for (int i = 0; i < 2; ++i)
    if (name == kNames[i]) { *gemm = static_cast<Gemm>(i); return true; }
  return false;
}

std::optional<Gemm> fixed_gemm() {
  static const std::optional<Gemm> fixed = [] () -> std::optional<Gemm> {
    const char* setting = std::getenv("FARM_LINEAR_GEMM");
    if (!setting || !*setting || std::strcmp(setting, "auto") == 0) return std::nullopt;
    Gemm gemm;
    if (!parse(setting, &gemm)) throw std::invalid_argument(std::string("FARM_LINEAR_GEMM must be auto, blas or onednn, not ") + setting);
    return gemm;
  }();
  return fixed;
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
  int status = onednn_sgemm()('N', 'T', m, n, k, 1.0f, rows.data_ptr<float>(), k, w.data_ptr<float>(), k, beta, out.data_ptr<float>(), n);
  if (status != 0) throw std::runtime_error("oneDNN sgemm failed with status " + std::to_string(status));
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
                        x.dim() >= 1 && x.size(-1) == w.size(1) && onednn_sgemm() != nullptr;
  if (!eligible) return at::linear(x, w, b);
  if (auto fixed = fixed_gemm()) return run(*fixed, x, w, b);
  const int64_t m = x.numel() / x.size(-1);
  if (double(m) * double(w.numel()) < kMinTunedMacs) return at::linear(x, w, b);
  std::ostringstream key;
  key << "linear:" << m << 'x' << w.size(1) << 'x' << w.size(0) << (b && b->defined() ? ":bias" : "") << ":t" << at::get_num_threads();
  Gemm gemm;
  if (auto known = tuning::find(key.str()); known && parse(*known, &gemm)) return run(gemm, x, w, b);
  gemm = static_cast<Gemm>(tuning::fastest(2, [&](int i) { return run(static_cast<Gemm>(i), x, w, b); }));
  tuning::remember(key.str(), kNames[static_cast<int>(gemm)]);
  return run(gemm, x, w, b);
}

}  // namespace ft

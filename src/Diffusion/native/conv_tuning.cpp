// Which CPU convolution algorithm to run for each convolution shape, chosen by measuring on the running CPU.
//
// No single choice wins everywhere: oneDNN on channels-last activations is fastest for the VAE's large maps, oneDNN
// on NCHW for the UNet's 16×16 and 8×8 ones, where the per-call weight reorder of the channels-last path costs more
// than the arithmetic, and im2col + the BLAS GEMM (THNN) wins some of those when the BLAS has wide kernels; the
// margins move with the CPU's vector width (docs/benchmarks.md). So the first time a shape is seen each algorithm
// runs on the real input and the fastest is kept (kernel_tuning.h), like cuDNN's benchmark mode.
// oneDNN's Winograd kernels (winograd_conv.h) are a candidate for 3×3, stride-1 float convolutions where the CPU
// has them. FARM_CONV_ALGO=channels-last|contiguous|im2col|winograd fixes one algorithm for every shape (Winograd
// where it applies, channels-last elsewhere).
//
// The algorithms sum in different orders, so their outputs differ by float rounding only (~1e-6 relative).
#include "kernel_tuning.h"
#ifdef FT_HAVE_WINOGRAD
#include "winograd_conv.h"
#endif
#include <sstream>

namespace {

enum class Algo { ChannelsLast, Contiguous, Im2col, Winograd };
const std::vector<const char*> kNames = {"channels-last", "contiguous", "im2col", "winograd"};

// Below this many multiply-adds a conv takes microseconds: not worth measuring, and the tiny test models keep one path.
constexpr double kMinTunedMacs = 2e7;
// im2col unfolds the input into a [C·kh·kw, H·W] matrix per image: at the VAE's 128 channels and 512×512 that is
// 1.2 GB, more than the rest of the decoder holds. It only wins on small maps, so it is not tried above this size.
constexpr double kMaxIm2colBytes = 64.0 * (1 << 20);

// FARM_CONV_ALGO, read once: nullopt for auto (measure).
std::optional<Algo> fixed_algo() {
  static const std::optional<int> fixed = ft::tuning::fixed_by_environment("FARM_CONV_ALGO", kNames);
  if (!fixed) return std::nullopt;
  return static_cast<Algo>(*fixed);
}

at::Tensor run(Algo algo, const at::Tensor& x, const at::Tensor& w, const c10::optional<at::Tensor>& b, int64_t stride, int64_t padding) {
  switch (algo) {
    case Algo::ChannelsLast:
      return at::conv2d(x.contiguous(at::MemoryFormat::ChannelsLast), w, b, {stride, stride}, {padding, padding});
    case Algo::Contiguous:
      return at::conv2d(x.contiguous(), w, b, {stride, stride}, {padding, padding});
    case Algo::Im2col:
      return at::thnn_conv2d(x.contiguous(), w.contiguous(), {w.size(2), w.size(3)}, b, {stride, stride}, {padding, padding});
    case Algo::Winograd:
#ifdef FT_HAVE_WINOGRAD
      return ft::winograd::conv2d(x, w, b, padding);
#else
      throw std::invalid_argument("this build of libfarmtorch has no Winograd convolutions (build it with libdnnl-dev installed)");
#endif
  }
  throw std::logic_error("unknown convolution algorithm");
}

bool winograd_fits(const at::Tensor& x, const at::Tensor& w, const c10::optional<at::Tensor>& b, int64_t stride, int64_t padding) {
#ifdef FT_HAVE_WINOGRAD
  return ft::winograd::supports(x, w, b, stride, padding);
#else
  return false;
#endif
}

// A fixed, forced or cached algorithm where it applies; Winograd exists only for 3×3 stride-1 shapes (a cached
// choice was measured, so its kernels exist), channels-last elsewhere.
Algo applicable(Algo algo, const at::Tensor& x, const at::Tensor& w, int64_t stride, int64_t padding) {
#ifdef FT_HAVE_WINOGRAD
  if (algo == Algo::Winograd && ft::winograd::shaped_for(x, w, stride, padding)) return algo;
#endif
  return algo == Algo::Winograd ? Algo::ChannelsLast : algo;
}

std::string key_of(const at::Tensor& x, const at::Tensor& w, int64_t stride, int64_t padding) {
  std::ostringstream key;
  key << "conv:" << c10::toString(x.scalar_type()) << ':' << x.size(0) << 'x' << x.size(1) << 'x' << x.size(2) << 'x' << x.size(3)
      << ':' << w.size(0) << 'x' << w.size(2) << 'x' << w.size(3) << ":s" << stride << ":p" << padding << ":t" << at::get_num_threads();
  return key.str();
}

}  // namespace

namespace ft {

at::Tensor tuned_conv2d(const at::Tensor& x, const at::Tensor& w, const c10::optional<at::Tensor>& b, int64_t stride, int64_t padding) {
  if (auto fixed = fixed_algo()) return run(applicable(*fixed, x, w, stride, padding), x, w, b, stride, padding);
  const double macs = double(x.size(0)) * x.size(2) * x.size(3) / double(stride * stride) * double(w.numel());
  if (macs < kMinTunedMacs) return run(Algo::ChannelsLast, x, w, b, stride, padding);
  const std::string key = key_of(x, w, stride, padding);
  if (auto known = tuning::find(key))
    if (auto index = tuning::index_of(*known, kNames))
      return run(applicable(static_cast<Algo>(*index), x, w, stride, padding), x, w, b, stride, padding);
  const double columns_bytes = double(x.size(1)) * w.size(2) * w.size(3) * x.size(2) * x.size(3) / double(stride * stride) * x.element_size();
  std::vector<Algo> candidates = {Algo::ChannelsLast, Algo::Contiguous};
  // THNN's bf16 path is a slow reference kernel.
  if (x.scalar_type() == at::kFloat && columns_bytes <= kMaxIm2colBytes) candidates.push_back(Algo::Im2col);
  if (winograd_fits(x, w, b, stride, padding)) candidates.push_back(Algo::Winograd);
  auto algo = candidates[tuning::fastest(static_cast<int>(candidates.size()), [&](int i) { return run(candidates[i], x, w, b, stride, padding); })];
  tuning::remember(key, kNames[static_cast<int>(algo)]);
  return run(algo, x, w, b, stride, padding);
}

}  // namespace ft

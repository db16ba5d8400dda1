// Which CPU convolution algorithm to run for each convolution shape, chosen by measuring on the running CPU.
//
// No single choice wins everywhere: oneDNN on channels-last activations is fastest for the VAE's large maps, oneDNN
// on NCHW for the UNet's 32×32 and 16×16 ones, and im2col + the BLAS GEMM (THNN) for the 1280-channel 8×8 maps,
// where oneDNN's per-call weight reorder costs more than the arithmetic; and the margins move with the CPU's vector
// width (docs/benchmarks.md). So the first time a shape is seen, each algorithm runs on the real input and the
// fastest is kept, like cuDNN's benchmark mode. Choices are appended to a cache file named for the CPU, thread count
// and library versions (FARM_TUNING_DIR, set up by the managed side), so a process pays for a shape once per
// machine. FARM_CONV_ALGO=channels-last|contiguous|im2col fixes one algorithm for every shape.
//
// The algorithms sum in different orders, so their outputs differ by float rounding only (~1e-6 relative).
#include "ft_common.h"
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <sstream>
#include <unordered_map>

namespace {

enum class Algo { ChannelsLast, Contiguous, Im2col };
constexpr const char* kNames[] = {"channels-last", "contiguous", "im2col"};

// Below this many multiply-adds a conv takes microseconds: not worth measuring, and the tiny test models keep one path.
constexpr double kMinTunedMacs = 2e7;

bool parse(const std::string& name, Algo* algo) {
  for (int i = 0; i < 3; ++i)
    if (name == kNames[i]) { *algo = static_cast<Algo>(i); return true; }
  return false;
}

struct Table {
  std::mutex lock;
  std::unordered_map<std::string, Algo> choices;
  std::string path;  // where choices are appended; empty: kept in memory only
  bool fixed = false;
  Algo fixed_algo = Algo::ChannelsLast;

  Table() {
    const char* setting = std::getenv("FARM_CONV_ALGO");
    if (setting && *setting && std::strcmp(setting, "auto") != 0) {
      if (!parse(setting, &fixed_algo))
        throw std::invalid_argument(std::string("FARM_CONV_ALGO must be auto, channels-last, contiguous or im2col, not ") + setting);
      fixed = true;
    }
  }
};

Table& table() {
  static Table instance;
  return instance;
}

at::Tensor run(Algo algo, const at::Tensor& x, const at::Tensor& w, const c10::optional<at::Tensor>& b, int64_t stride, int64_t padding) {
  switch (algo) {
    case Algo::ChannelsLast:
      return at::conv2d(x.contiguous(at::MemoryFormat::ChannelsLast), w, b, {stride, stride}, {padding, padding});
    case Algo::Contiguous:
      return at::conv2d(x.contiguous(), w, b, {stride, stride}, {padding, padding});
    case Algo::Im2col:
      return at::thnn_conv2d(x.contiguous(), w.contiguous(), {w.size(2), w.size(3)}, b, {stride, stride}, {padding, padding});
  }
  throw std::logic_error("unknown convolution algorithm");
}

std::string key_of(const at::Tensor& x, const at::Tensor& w, int64_t stride, int64_t padding) {
  std::ostringstream key;
  key << c10::toString(x.scalar_type()) << ':' << x.size(0) << 'x' << x.size(1) << 'x' << x.size(2) << 'x' << x.size(3)
      << ':' << w.size(0) << 'x' << w.size(2) << 'x' << w.size(3) << ":s" << stride << ":p" << padding << ":t" << at::get_num_threads();
  return key.str();
}

double seconds(Algo algo, const at::Tensor& x, const at::Tensor& w, const c10::optional<at::Tensor>& b, int64_t stride, int64_t padding, at::Tensor* out) {
  auto start = std::chrono::steady_clock::now();
  *out = run(algo, x, w, b, stride, padding);
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Times every algorithm twice on the real input (the first run pays for oneDNN's primitive creation and fresh
// pages, so only the second counts) and returns the fastest; `out` is left holding that algorithm's result.
Algo calibrate(const at::Tensor& x, const at::Tensor& w, const c10::optional<at::Tensor>& b, int64_t stride, int64_t padding, at::Tensor* out) {
  const bool im2col = x.scalar_type() == at::kFloat;  // THNN's bf16 path is a slow reference kernel
  const int count = im2col ? 3 : 2;
  double best_time = 0;
  Algo best = Algo::ChannelsLast;
  for (int round = 0; round < 2; ++round) {
    for (int i = 0; i < count; ++i) {
      at::Tensor result;
      double t = seconds(static_cast<Algo>(i), x, w, b, stride, padding, &result);
      if (round == 1 && (i == 0 || t < best_time)) {
        best_time = t;
        best = static_cast<Algo>(i);
        *out = std::move(result);
      }
    }
  }
  return best;
}

}  // namespace

namespace ft {

// A CPU conv2d over the algorithm chosen for its shape (measured on first sight, see above).
at::Tensor tuned_conv2d(const at::Tensor& x, const at::Tensor& w, const c10::optional<at::Tensor>& b, int64_t stride, int64_t padding) {
  Table& t = table();
  if (t.fixed) return run(t.fixed_algo, x, w, b, stride, padding);
  const double macs = double(x.size(0)) * x.size(2) * x.size(3) / (stride * stride) * w.numel();
  if (macs < kMinTunedMacs) return run(Algo::ChannelsLast, x, w, b, stride, padding);
  const std::string key = key_of(x, w, stride, padding);
  {
    std::lock_guard<std::mutex> hold(t.lock);
    auto found = t.choices.find(key);
    if (found != t.choices.end()) return run(found->second, x, w, b, stride, padding);
  }
  at::Tensor out;
  Algo algo = calibrate(x, w, b, stride, padding, &out);
  std::lock_guard<std::mutex> hold(t.lock);
  t.choices.emplace(key, algo);
  if (!t.path.empty()) {
    // One short line per shape, appended: processes sharing the file never corrupt each other's lines.
    std::ofstream file(t.path, std::ios::app);
    file << key << ' ' << kNames[static_cast<int>(algo)] << '\n';
  }
  return out;
}

}  // namespace ft

// Reads the choices cached in `path` (a missing file is an empty cache) and appends new ones to it.
FT_EXPORT int ft_conv_tuning_open(const char* path) {
  return ft::guard([&] {
    Table& t = table();
    std::lock_guard<std::mutex> hold(t.lock);
    t.path = path ? path : "";
    std::ifstream file(t.path);
    std::string key, name;
    Algo algo;
    while (file >> key >> name)
      if (parse(name, &algo)) t.choices[key] = algo;  // later lines win; unknown names are ignored
  });
}

// How many shapes have a chosen algorithm, and whether FARM_CONV_ALGO fixed one for all.
FT_EXPORT int ft_conv_tuning_count(int* count, int* fixed) {
  return ft::guard([&] {
    Table& t = table();
    std::lock_guard<std::mutex> hold(t.lock);
    *count = static_cast<int>(t.choices.size());
    *fixed = t.fixed ? 1 : 0;
  });
}

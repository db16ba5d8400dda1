// Runtime: errors, threads, capabilities, dtype/device codes.
#include "ft_common.h"
#include <ATen/detail/CUDAHooksInterface.h>
#include <torch/csrc/autograd/profiler_legacy.h>
#include <memory>
#include <cstring>

namespace ft {

static thread_local std::string last_error;

void set_error(const char* message) { last_error = message ? message : ""; }

at::ScalarType dtype_of(int code) {
  switch (code) {
    case 0: return at::kFloat;
    case 1: return at::kHalf;
    case 2: return at::kBFloat16;
    case 3: return at::kLong;
    case 4: return at::kInt;
    case 5: return at::kByte;
    case 6: return at::kDouble;
    case 7: return at::kBool;
  }
  throw std::invalid_argument("unknown dtype code " + std::to_string(code));
}

int code_of(at::ScalarType type) {
  switch (type) {
    case at::kFloat: return 0;
    case at::kHalf: return 1;
    case at::kBFloat16: return 2;
    case at::kLong: return 3;
    case at::kInt: return 4;
    case at::kByte: return 5;
    case at::kDouble: return 6;
    case at::kBool: return 7;
    default: throw std::invalid_argument(std::string("unsupported dtype ") + c10::toString(type));
  }
}

at::Device device_of(int type, int index) {
  if (type == 0) return at::Device(at::kCPU);
  if (type == 1) {
    if (!at::hasCUDA()) throw std::runtime_error("this libtorch build has no CUDA support; use device cpu or build libfarmtorch against a CUDA libtorch");
    return at::Device(at::kCUDA, static_cast<c10::DeviceIndex>(index));
  }
  throw std::invalid_argument("unknown device type " + std::to_string(type));
}

}  // namespace ft

FT_EXPORT int ft_last_error(char* buffer, int capacity) {
  const std::string& message = ft::last_error;
  int length = static_cast<int>(message.size());
  if (buffer && capacity > 0) {
    int n = length < capacity - 1 ? length : capacity - 1;
    std::memcpy(buffer, message.data(), static_cast<size_t>(n));
    buffer[n] = '\0';
  }
  return length;
}

FT_EXPORT int ft_set_num_threads(int threads) {
  return ft::guard([&] { at::set_num_threads(threads); });
}

FT_EXPORT int ft_get_num_threads() { return at::get_num_threads(); }

FT_EXPORT int ft_cuda_device_count() { return at::hasCUDA() ? static_cast<int>(at::detail::getCUDAHooks().getNumGPUs()) : 0; }

FT_EXPORT int ft_torch_version(char* buffer, int capacity) {
  std::string version = TORCH_VERSION;
  int n = static_cast<int>(version.size());
  if (buffer && capacity > n) std::memcpy(buffer, version.c_str(), static_cast<size_t>(n) + 1);
  return n;
}

FT_EXPORT int ft_set_grad_enabled(int enabled) {
  return ft::guard([&] { c10::GradMode::set_enabled(enabled != 0); });
}

// Op-level profiling for `farm bench --profile`: libtorch's own profiler records every ATen op called on this
// thread between start and stop and writes a chrome://tracing JSON file on stop.
namespace {
std::unique_ptr<torch::autograd::profiler::RecordProfile> profile;
}

FT_EXPORT int ft_profiler_start(const char* path) {
  return ft::guard([&] {
    if (profile) throw std::runtime_error("the profiler is already running");
    profile = std::make_unique<torch::autograd::profiler::RecordProfile>(std::string(path));
  });
}

FT_EXPORT int ft_profiler_stop() {
  return ft::guard([&] { profile.reset(); });
}

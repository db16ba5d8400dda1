// Shared plumbing for the C ABI: handle type, error capture, argument helpers.
// Rule: no C++ exception ever crosses the boundary. Every export runs its body inside
// ft_guard, which turns any exception into a non-zero return and a thread-local message.
#pragma once
#include <torch/torch.h>
#include <string>
#include <vector>

#define FT_EXPORT extern "C" __attribute__((visibility("default")))

// A tensor handle owns exactly one heap-allocated at::Tensor.
typedef at::Tensor* ft_tensor;

namespace ft {

void set_error(const char* message);

template <class Body>
int guard(Body&& body) noexcept {
  try {
    body();
    return 0;
  } catch (const c10::Error& e) {
    set_error(e.what_without_backtrace());
  } catch (const std::exception& e) {
    set_error(e.what());
  } catch (...) {
    set_error("unknown native error");
  }
  return 1;
}

inline void put(ft_tensor* out, at::Tensor&& value) { *out = new at::Tensor(std::move(value)); }

inline at::IntArrayRef dims(const int64_t* values, int count) { return at::IntArrayRef(values, static_cast<size_t>(count)); }

// Dtype codes shared with C# (ScalarType enum on the managed side).
at::ScalarType dtype_of(int code);
int code_of(at::ScalarType type);
at::Device device_of(int type, int index);

// conv2d on CPU through the algorithm measured fastest for this shape (conv_tuning.cpp).
// linear (x · weightᵀ + bias) on CPU through the matrix product measured fastest for this shape (linear_tuning.cpp).
at::Tensor tuned_linear(const at::Tensor& x, const at::Tensor& w, const c10::optional<at::Tensor>& b);

at::Tensor tuned_conv2d(const at::Tensor& x, const at::Tensor& w, const c10::optional<at::Tensor>& b, int64_t stride, int64_t padding);

inline at::TensorOptions options(int dtype, int device_type, int device_index) {
  return at::TensorOptions().dtype(dtype_of(dtype)).device(device_of(device_type, device_index));
}

}  // namespace ft

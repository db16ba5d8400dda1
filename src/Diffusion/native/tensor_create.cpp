// Tensor lifetime, creation, random numbers, metadata and host copies.
#include "ft_common.h"
#include <ATen/CPUGeneratorImpl.h>
#include <cstring>

FT_EXPORT void ft_tensor_free(ft_tensor t) { delete t; }

// Copies `bytes` of host memory into a new CPU tensor: the caller's buffer may go away afterwards.
FT_EXPORT int ft_tensor_from_data(const void* data, int dtype, const int64_t* shape, int ndim, ft_tensor* out) {
  return ft::guard([&] {
    auto options = at::TensorOptions().dtype(ft::dtype_of(dtype));
    auto tensor = at::empty(ft::dims(shape, ndim), options);
    std::memcpy(tensor.data_ptr(), data, tensor.nbytes());
    ft::put(out, std::move(tensor));
  });
}

FT_EXPORT int ft_tensor_full(const int64_t* shape, int ndim, double value, int dtype, int device_type, int device_index, ft_tensor* out) {
  return ft::guard([&] { ft::put(out, at::full(ft::dims(shape, ndim), value, ft::options(dtype, device_type, device_index))); });
}

FT_EXPORT int ft_tensor_empty(const int64_t* shape, int ndim, int dtype, int device_type, int device_index, ft_tensor* out) {
  return ft::guard([&] { ft::put(out, at::empty(ft::dims(shape, ndim), ft::options(dtype, device_type, device_index))); });
}

FT_EXPORT int ft_tensor_arange(double start, double end, double step, int dtype, ft_tensor* out) {
  return ft::guard([&] { ft::put(out, at::arange(start, end, step, at::TensorOptions().dtype(ft::dtype_of(dtype)))); });
}

// A CPU mt19937 generator seeded like torch.Generator("cpu").manual_seed(seed).
FT_EXPORT int ft_generator_new(uint64_t seed, at::Generator** out) {
  return ft::guard([&] { *out = new at::Generator(at::make_generator<at::CPUGeneratorImpl>(seed)); });
}

FT_EXPORT void ft_generator_free(at::Generator* generator) { delete generator; }

// Standard normal float32 samples on the CPU, drawn exactly as torch.randn(shape, generator=g).
FT_EXPORT int ft_tensor_randn(const int64_t* shape, int ndim, at::Generator* generator, ft_tensor* out) {
  return ft::guard([&] {
    ft::put(out, at::randn(ft::dims(shape, ndim), *generator, at::TensorOptions().dtype(at::kFloat)));
  });
}

FT_EXPORT int ft_tensor_ndim(ft_tensor t) { return static_cast<int>(t->dim()); }

FT_EXPORT int ft_tensor_shape(ft_tensor t, int64_t* shape) {
  return ft::guard([&] {
    for (int64_t i = 0; i < t->dim(); ++i) shape[i] = t->size(i);
  });
}

FT_EXPORT int ft_tensor_dtype(ft_tensor t, int* dtype) {
  return ft::guard([&] { *dtype = ft::code_of(t->scalar_type()); });
}

FT_EXPORT int ft_tensor_device(ft_tensor t, int* type, int* index) {
  return ft::guard([&] {
    *type = t->is_cuda() ? 1 : 0;
    *index = t->is_cuda() ? t->get_device() : 0;
  });
}

// Copies the tensor's elements (any device, any layout) into host memory of `bytes` bytes.
FT_EXPORT int ft_tensor_copy_to_host(ft_tensor t, void* data, int64_t bytes) {
  return ft::guard([&] {
    auto host = t->to(at::kCPU).contiguous();
    if (static_cast<int64_t>(host.nbytes()) != bytes)
      throw std::invalid_argument("host buffer has " + std::to_string(bytes) + " bytes, tensor needs " + std::to_string(host.nbytes()));
    std::memcpy(data, host.data_ptr(), host.nbytes());
  });
}

FT_EXPORT int ft_tensor_to(ft_tensor t, int dtype, int device_type, int device_index, ft_tensor* out) {
  return ft::guard([&] { ft::put(out, t->to(ft::device_of(device_type, device_index), ft::dtype_of(dtype))); });
}

FT_EXPORT int ft_tensor_contiguous(ft_tensor t, ft_tensor* out) {
  return ft::guard([&] { ft::put(out, t->contiguous()); });
}

FT_EXPORT int ft_tensor_clone(ft_tensor t, ft_tensor* out) {
  return ft::guard([&] { ft::put(out, t->clone()); });
}

FT_EXPORT int ft_tensor_copy_(ft_tensor destination, ft_tensor source) {
  return ft::guard([&] { destination->copy_(*source); });
}

FT_EXPORT int ft_tensor_item(ft_tensor t, double* value) {
  return ft::guard([&] { *value = t->item<double>(); });
}

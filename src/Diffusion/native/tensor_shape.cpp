// Views and layout: reshape, permute, narrow, cat, expand, indexing.
#include "ft_common.h"

FT_EXPORT int ft_tensor_reshape(ft_tensor t, const int64_t* shape, int ndim, ft_tensor* out) {
  return ft::guard([&] { ft::put(out, t->reshape(ft::dims(shape, ndim))); });
}

FT_EXPORT int ft_tensor_permute(ft_tensor t, const int64_t* order, int ndim, ft_tensor* out) {
  return ft::guard([&] { ft::put(out, t->permute(ft::dims(order, ndim))); });
}

FT_EXPORT int ft_tensor_transpose(ft_tensor t, int64_t dim0, int64_t dim1, ft_tensor* out) {
  return ft::guard([&] { ft::put(out, t->transpose(dim0, dim1)); });
}

FT_EXPORT int ft_tensor_narrow(ft_tensor t, int64_t dim, int64_t start, int64_t length, ft_tensor* out) {
  return ft::guard([&] { ft::put(out, t->narrow(dim, start, length)); });
}

FT_EXPORT int ft_tensor_select(ft_tensor t, int64_t dim, int64_t index, ft_tensor* out) {
  return ft::guard([&] { ft::put(out, t->select(dim, index)); });
}

FT_EXPORT int ft_tensor_unsqueeze(ft_tensor t, int64_t dim, ft_tensor* out) {
  return ft::guard([&] { ft::put(out, t->unsqueeze(dim)); });
}

FT_EXPORT int ft_tensor_expand(ft_tensor t, const int64_t* shape, int ndim, ft_tensor* out) {
  return ft::guard([&] { ft::put(out, t->expand(ft::dims(shape, ndim))); });
}

FT_EXPORT int ft_tensor_cat(const ft_tensor* tensors, int count, int64_t dim, ft_tensor* out) {
  return ft::guard([&] {
    std::vector<at::Tensor> parts;
    parts.reserve(static_cast<size_t>(count));
    for (int i = 0; i < count; ++i) parts.push_back(*tensors[i]);
    ft::put(out, at::cat(parts, dim));
  });
}

FT_EXPORT int ft_tensor_index_select(ft_tensor t, int64_t dim, ft_tensor index, ft_tensor* out) {
  return ft::guard([&] { ft::put(out, t->index_select(dim, *index)); });
}

// Elementwise math and reductions. Op codes are mirrored by enums on the managed side.
#include "ft_common.h"
#include <cmath>

namespace {

at::Tensor unary(int op, const at::Tensor& x) {
  switch (op) {
    case 0: return at::neg(x);
    case 1: return at::exp(x);
    case 2: return at::log(x);
    case 3: return at::sqrt(x);
    case 4: return at::rsqrt(x);
    case 5: return at::sin(x);
    case 6: return at::cos(x);
    case 7: return at::sigmoid(x);
    case 8: return at::silu(x);
    case 9: return at::gelu(x);
    case 10: return at::gelu(x, "tanh");
    case 11: return at::tanh(x);
    case 12: return at::abs(x);
    case 13: return at::round(x);
    case 14: return at::reciprocal(x);
    case 15: return at::floor(x);
  }
  throw std::invalid_argument("unknown unary op " + std::to_string(op));
}

void unary_(int op, at::Tensor& x) {
  switch (op) {
    case 8: at::silu_(x); return;
  }
  throw std::invalid_argument("in-place form not available for unary op " + std::to_string(op));
}

void scalar_(int op, at::Tensor& a, double s) {
  switch (op) {
    case 0: a.add_(s); return;
    case 1: a.sub_(s); return;
    case 2: a.mul_(s); return;
    case 3: a.div_(s); return;
  }
  throw std::invalid_argument("in-place form not available for scalar op " + std::to_string(op));
}

at::Tensor binary(int op, const at::Tensor& a, const at::Tensor& b) {
  switch (op) {
    case 0: return at::add(a, b);
    case 1: return at::sub(a, b);
    case 2: return at::mul(a, b);
    case 3: return at::div(a, b);
    case 4: return at::pow(a, b);
    case 5: return at::maximum(a, b);
    case 6: return at::minimum(a, b);
  }
  throw std::invalid_argument("unknown binary op " + std::to_string(op));
}

void binary_(int op, at::Tensor& a, const at::Tensor& b) {
  switch (op) {
    case 0: a.add_(b); return;
    case 1: a.sub_(b); return;
    case 2: a.mul_(b); return;
    case 3: a.div_(b); return;
  }
  throw std::invalid_argument("in-place form not available for binary op " + std::to_string(op));
}

// Tensor (op) scalar, as Python's `t + 0.5`, `t ** 2` etc.; the scalar-first forms follow
// Python's reflected operators (`1 - t` is rsub, `2 / t` is reciprocal(t) * 2).
at::Tensor with_scalar(int op, const at::Tensor& a, double s, bool scalar_first) {
  if (scalar_first) {
    switch (op) {
      case 0: return at::add(a, s);
      case 1: return at::rsub(a, s);
      case 2: return at::mul(a, s);
      case 3: return at::mul(at::reciprocal(a), s);
      case 4: return at::pow(s, a);
    }
  } else {
    switch (op) {
      case 0: return at::add(a, s);
      case 1: return at::sub(a, s);
      case 2: return at::mul(a, s);
      case 3: return at::div(a, s);
      case 4: return at::pow(a, s);
      case 5: return at::clamp_min(a, s);
      case 6: return at::clamp_max(a, s);
    }
  }
  throw std::invalid_argument("unknown scalar op " + std::to_string(op));
}

}  // namespace

FT_EXPORT int ft_tensor_unary(int op, ft_tensor x, ft_tensor* out) {
  return ft::guard([&] { ft::put(out, unary(op, *x)); });
}

FT_EXPORT int ft_tensor_unary_(int op, ft_tensor x) {
  return ft::guard([&] { unary_(op, *x); });
}

FT_EXPORT int ft_tensor_binary(int op, ft_tensor a, ft_tensor b, ft_tensor* out) {
  return ft::guard([&] { ft::put(out, binary(op, *a, *b)); });
}

FT_EXPORT int ft_tensor_binary_(int op, ft_tensor a, ft_tensor b) {
  return ft::guard([&] { binary_(op, *a, *b); });
}

FT_EXPORT int ft_tensor_scalar(int op, ft_tensor a, double s, int scalar_first, ft_tensor* out) {
  return ft::guard([&] { ft::put(out, with_scalar(op, *a, s, scalar_first != 0)); });
}

FT_EXPORT int ft_tensor_scalar_(int op, ft_tensor a, double s) {
  return ft::guard([&] { scalar_(op, *a, s); });
}

// a + alpha * b in one kernel (torch.add(a, b, alpha=...)).
FT_EXPORT int ft_tensor_add_scaled(ft_tensor a, ft_tensor b, double alpha, ft_tensor* out) {
  return ft::guard([&] { ft::put(out, at::add(*a, *b, alpha)); });
}

FT_EXPORT int ft_tensor_clamp(ft_tensor x, double min, double max, ft_tensor* out) {
  return ft::guard([&] {
    c10::optional<at::Scalar> lo = std::isnan(min) ? c10::nullopt : c10::optional<at::Scalar>(min);
    c10::optional<at::Scalar> hi = std::isnan(max) ? c10::nullopt : c10::optional<at::Scalar>(max);
    ft::put(out, at::clamp(*x, lo, hi));
  });
}

// Reductions over one dimension (dim >= -ndim) or, with all != 0, over every element.
FT_EXPORT int ft_tensor_reduce(int op, ft_tensor x, int64_t dim, int keepdim, int all, ft_tensor* out) {
  return ft::guard([&] {
    switch (op) {
      case 0: ft::put(out, all ? x->sum() : x->sum(dim, keepdim != 0)); return;
      case 1: ft::put(out, all ? x->mean() : x->mean(dim, keepdim != 0)); return;
      case 2: ft::put(out, all ? x->abs().max() : std::get<0>(x->abs().max(dim, keepdim != 0))); return;
      case 3: ft::put(out, all ? x->max() : std::get<0>(x->max(dim, keepdim != 0))); return;
      case 4: ft::put(out, all ? x->min() : std::get<0>(x->min(dim, keepdim != 0))); return;
    }
    throw std::invalid_argument("unknown reduction " + std::to_string(op));
  });
}

FT_EXPORT int ft_tensor_where(ft_tensor condition, ft_tensor a, ft_tensor b, ft_tensor* out) {
  return ft::guard([&] { ft::put(out, at::where(*condition, *a, *b)); });
}

FT_EXPORT int ft_tensor_compare_scalar(int op, ft_tensor a, double s, ft_tensor* out) {
  return ft::guard([&] {
    switch (op) {
      case 0: ft::put(out, at::ge(*a, s)); return;
      case 1: ft::put(out, at::lt(*a, s)); return;
      case 2: ft::put(out, at::gt(*a, s)); return;
      case 3: ft::put(out, at::le(*a, s)); return;
    }
    throw std::invalid_argument("unknown comparison " + std::to_string(op));
  });
}

// Scaled dot-product attention over [batch*heads, tokens, head_dim] tensors.
//
// It reproduces diffusers' AttnProcessor on torch < 2 exactly: scores = baddbmm(empty, q, kᵀ,
// beta=0, alpha=scale), softmax in float32 over the last dim, then bmm with v. Work is split into
// groups of whole heads so the score buffer stays bounded (one SD1.5 64×64 layer would otherwise
// hold a 1 GiB [16, 4096, 4096] matrix); a bmm over a batch is a loop of independent GEMMs, so
// the split does not change a single bit of the result.
#include "ft_common.h"

namespace {

// libtorch 1.13's CPU baddbmm takes a naive kernel below this size and reads the uninitialised
// input even with beta=0 (see the fixture README); there, start from zeros with beta=1 instead.
constexpr int64_t kNaiveBaddbmmLimit = 400;

at::Tensor scores_for(const at::Tensor& q, const at::Tensor& k, double scale) {
  auto kt = k.transpose(1, 2);
  int64_t work = q.size(1) * k.size(1) * q.size(2);
  if (work < kNaiveBaddbmmLimit) {
    auto zeros = at::zeros({q.size(0), q.size(1), k.size(1)}, q.options());
    return at::baddbmm(zeros, q, kt, 1.0, scale);
  }
  auto empty = at::empty({q.size(0), q.size(1), k.size(1)}, q.options());
  return at::baddbmm(empty, q, kt, 0.0, scale);
}

at::Tensor attend(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, double scale) {
  auto scores = scores_for(q, k, scale);
  if (scores.scalar_type() != at::kFloat) {
    auto probs = at::softmax(scores.to(at::kFloat), -1).to(v.scalar_type());
    return at::bmm(probs, v);
  }
  scores = at::softmax(scores, -1);
  return at::bmm(scores, v);
}

bool fits_in_place(const at::Tensor& q, const at::Tensor& k) {
  return q.scalar_type() == at::kFloat && q.size(1) * k.size(1) * q.size(2) >= kNaiveBaddbmmLimit;
}

// attend() for float32 without its two fresh score-sized buffers: the scores go into `scores` (one buffer
// reused by every group of heads), softmax runs in place and the product lands in `out`. The kernels and
// their arguments are those of attend(), so the result is bit-identical; at SD1.5 64x64 this saves
// allocating and faulting in ~9 GiB per UNet step.
void attend_into(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, double scale, at::Tensor scores, at::Tensor out) {
  scores.baddbmm_(q, k.transpose(1, 2), 0.0, scale);
  at::_softmax_out(scores, scores, -1, false);
  at::bmm_out(out, scores, v);
}

}  // namespace

// max_score_bytes bounds the float scores held at once (0 = no bound).
FT_EXPORT int ft_nn_attention(ft_tensor q, ft_tensor k, ft_tensor v, double scale, int64_t max_score_bytes, ft_tensor* out) {
  return ft::guard([&] {
    const int64_t heads = q->size(0);
    const int64_t per_head = q->size(1) * k->size(1) * static_cast<int64_t>(sizeof(float));
    int64_t group = heads;
    if (max_score_bytes > 0) group = std::max<int64_t>(1, std::min<int64_t>(heads, max_score_bytes / per_head));
    const bool in_place = fits_in_place(*q, *k);
    if (group >= heads && !in_place) {
      ft::put(out, attend(*q, *k, *v, scale));
      return;
    }
    auto result = at::empty({heads, q->size(1), v->size(2)}, v->options());
    at::Tensor scores;
    if (in_place) scores = at::empty({group, q->size(1), k->size(1)}, q->options());
    for (int64_t start = 0; start < heads; start += group) {
      int64_t n = std::min(group, heads - start);
      auto qs = q->narrow(0, start, n), ks = k->narrow(0, start, n), vs = v->narrow(0, start, n);
      auto slice = result.narrow(0, start, n);
      if (in_place) attend_into(qs, ks, vs, scale, scores.narrow(0, 0, n), slice);
      else slice.copy_(attend(qs, ks, vs, scale));
    }
    ft::put(out, std::move(result));
  });
}

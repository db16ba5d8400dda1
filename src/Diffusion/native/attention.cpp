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

}  // namespace

// max_score_bytes bounds the float scores held at once (0 = no bound).
FT_EXPORT int ft_nn_attention(ft_tensor q, ft_tensor k, ft_tensor v, double scale, int64_t max_score_bytes, ft_tensor* out) {
  return ft::guard([&] {
    const int64_t heads = q->size(0);
    const int64_t per_head = q->size(1) * k->size(1) * static_cast<int64_t>(sizeof(float));
    int64_t group = heads;
    if (max_score_bytes > 0) group = std::max<int64_t>(1, std::min<int64_t>(heads, max_score_bytes / per_head));
    if (group >= heads) {
      ft::put(out, attend(*q, *k, *v, scale));
      return;
    }
    auto result = at::empty({heads, q->size(1), v->size(2)}, v->options());
    for (int64_t start = 0; start < heads; start += group) {
      int64_t n = std::min(group, heads - start);
      result.narrow(0, start, n).copy_(attend(q->narrow(0, start, n), k->narrow(0, start, n), v->narrow(0, start, n), scale));
    }
    ft::put(out, std::move(result));
  });
}

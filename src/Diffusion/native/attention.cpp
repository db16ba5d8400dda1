// Scaled dot-product attention over [batch*heads, tokens, head_dim] tensors.
//
// Large float32 attentions (self-attention at 4096 tokens: 64 MiB of scores per head) can also run in tiles of query
// rows: each row's softmax is independent, so a tile's scores are computed, normalised and multiplied by v while they
// are still in the CPU's cache instead of going through memory. Which tile size is fastest depends on the caches, so it
// is measured per shape on the running CPU (kernel_tuning.h); FARM_ATTENTION_TILE_MB=N fixes it (0: whole heads).
// Tiles change only which rows a GEMM call covers: results match the whole-head path to float rounding (~1e-7).
// The two products of a large attention run on the BLAS (libtorch's baddbmm/bmm) or on oneDNN's sgemm, per head,
// measured with the tiles; FARM_ATTENTION_GEMM=blas|onednn fixes that. They differ by float rounding only.
//
// It reproduces diffusers' AttnProcessor on torch < 2 exactly: scores = baddbmm(empty, q, kᵀ,
// beta=0, alpha=scale), softmax in float32 over the last dim, then bmm with v. Work is split into
// groups of whole heads so the score buffer stays bounded (one SD1.5 64×64 layer would otherwise
// hold a 1 GiB [16, 4096, 4096] matrix); a bmm over a batch is a loop of independent GEMMs, so
// the split does not change a single bit of the result.
#include "kernel_tuning.h"
#include "onednn_gemm.h"
#include <cstdlib>
#include <iterator>
#include <sstream>
#include <vector>

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

enum class Gemm { Blas, OneDnn };
const std::vector<const char*> kGemmNames = {"blas", "onednn"};

// Per head h: scores[h] = scale·q[h]·k[h]ᵀ, then out[h] = scores[h]·v[h], with oneDNN's sgemm. Every operand is
// [heads, rows, columns] with unit stride along its rows (the caller makes them so); rows may be further apart.
void products_onednn_scores(const at::Tensor& q, const at::Tensor& k, double scale, at::Tensor& scores) {
  const int64_t rows = q.size(1), keys = k.size(1), dim = q.size(2);
  for (int64_t h = 0; h < q.size(0); ++h)
    ft::onednn::sgemm('N', 'T', rows, keys, dim, static_cast<float>(scale), q[h].data_ptr<float>(), q.stride(1),
                      k[h].data_ptr<float>(), k.stride(1), 0.0f, scores[h].data_ptr<float>(), scores.stride(1));
}

void products_onednn_values(const at::Tensor& probs, const at::Tensor& v, at::Tensor& out) {
  const int64_t rows = probs.size(1), keys = probs.size(2), dim = v.size(2);
  for (int64_t h = 0; h < probs.size(0); ++h)
    ft::onednn::sgemm('N', 'N', rows, dim, keys, 1.0f, probs[h].data_ptr<float>(), probs.stride(1),
                      v[h].data_ptr<float>(), v.stride(1), 0.0f, out[h].data_ptr<float>(), out.stride(1));
}

// attend() for float32 without its two fresh score-sized buffers: the scores go into `scores` (one buffer
// reused by every group of heads), softmax runs in place and the product lands in `out`. On the BLAS the kernels
// and their arguments are those of attend(), so the result is bit-identical; at SD1.5 64x64 this saves
// allocating and faulting in ~9 GiB per UNet step.
void attend_into(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, double scale, at::Tensor scores, at::Tensor out, Gemm gemm) {
  if (gemm == Gemm::OneDnn) products_onednn_scores(q, k, scale, scores);
  else scores.baddbmm_(q, k.transpose(1, 2), 0.0, scale);
  at::_softmax_out(scores, scores, -1, false);
  if (gemm == Gemm::OneDnn) products_onednn_values(scores, v, out);
  else at::bmm_out(out, scores, v);
}

// Heads in groups whose scores fit in max_score_bytes (0 = no bound).
at::Tensor attend_by_heads(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, double scale, int64_t max_score_bytes, Gemm gemm = Gemm::Blas) {
  const int64_t heads = q.size(0);
  const int64_t per_head = q.size(1) * k.size(1) * static_cast<int64_t>(sizeof(float));
  int64_t group = heads;
  if (max_score_bytes > 0) group = std::max<int64_t>(1, std::min<int64_t>(heads, max_score_bytes / per_head));
  const bool in_place = fits_in_place(q, k);
  if (group >= heads && !in_place) return attend(q, k, v, scale);
  auto result = at::empty({heads, q.size(1), v.size(2)}, v.options());
  at::Tensor scores;
  if (in_place) scores = at::empty({group, q.size(1), k.size(1)}, q.options());
  for (int64_t start = 0; start < heads; start += group) {
    int64_t n = std::min(group, heads - start);
    auto qs = q.narrow(0, start, n), ks = k.narrow(0, start, n), vs = v.narrow(0, start, n);
    auto slice = result.narrow(0, start, n);
    if (in_place) attend_into(qs, ks, vs, scale, scores.narrow(0, 0, n), slice, gemm);
    else slice.copy_(attend(qs, ks, vs, scale));
  }
  return result;
}

// One head at a time, in tiles of query rows whose scores take about tile_bytes.
at::Tensor attend_by_query_tiles(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, double scale, int64_t tile_bytes, Gemm gemm) {
  const int64_t heads = q.size(0), queries = q.size(1), keys = k.size(1);
  const int64_t rows = std::max<int64_t>(1, std::min<int64_t>(queries, tile_bytes / (keys * static_cast<int64_t>(sizeof(float)))));
  auto result = at::empty({heads, queries, v.size(2)}, v.options());
  auto scores = at::empty({1, rows, keys}, q.options());
  for (int64_t h = 0; h < heads; ++h) {
    auto kh = k.narrow(0, h, 1), vh = v.narrow(0, h, 1), qh = q.narrow(0, h, 1), out = result.narrow(0, h, 1);
    for (int64_t start = 0; start < queries; start += rows) {
      int64_t n = std::min(rows, queries - start);
      attend_into(qh.narrow(1, start, n), kh, vh, scale, scores.narrow(1, 0, n), out.narrow(1, start, n), gemm);
    }
  }
  return result;
}

// Tile sizes tried, in MiB; 0 is whole heads.
constexpr int64_t kTileMiB[] = {0, 32, 16, 8, 4, 2};
// Below 1024 × 1024 scores per head the whole-head path is already in cache.
constexpr int64_t kMinTunedScores = int64_t(1024) * 1024;

// FARM_ATTENTION_TILE_MB, read once: -1 for auto (measure).
int64_t fixed_tile_mib() {
  static const int64_t fixed = [] {
    const char* setting = std::getenv("FARM_ATTENTION_TILE_MB");
    if (!setting || !*setting || std::string(setting) == "auto") return int64_t(-1);
    char* end = nullptr;
    long long value = std::strtoll(setting, &end, 10);
    if (*end != '\0' || value < 0)
      throw std::invalid_argument(std::string("FARM_ATTENTION_TILE_MB must be auto or a whole number of MiB (0: whole heads), not ") + setting);
    return static_cast<int64_t>(value);
  }();
  return fixed;
}

// One way to run a large attention: the query tile (0: whole heads) and the matrix product.
struct Choice {
  int64_t tile_mib;
  Gemm gemm;

  std::string name() const { return "tile=" + std::to_string(tile_mib) + ",gemm=" + kGemmNames[static_cast<int>(gemm)]; }

  // "tile=N,gemm=NAME"; anything else (an older cache's bare tile size, say) is nullopt, so it is measured again.
  static std::optional<Choice> parse(const std::string& text) {
    const std::string tile = "tile=", gemm = ",gemm=";
    auto at = text.find(gemm);
    if (text.rfind(tile, 0) != 0 || at == std::string::npos) return std::nullopt;
    auto index = ft::tuning::index_of(text.substr(at + gemm.size()), kGemmNames);
    char* end = nullptr;
    std::string digits = text.substr(tile.size(), at - tile.size());
    long long mib = std::strtoll(digits.c_str(), &end, 10);
    if (!index || digits.empty() || *end != '\0' || mib < 0) return std::nullopt;
    return Choice{mib, static_cast<Gemm>(*index)};
  }
};

// The candidates left once FARM_ATTENTION_TILE_MB and FARM_ATTENTION_GEMM have fixed what they fix.
std::vector<Choice> candidates() {
  static const std::optional<int> fixed_gemm = ft::tuning::fixed_by_environment("FARM_ATTENTION_GEMM", kGemmNames);
  std::vector<int64_t> tiles(std::begin(kTileMiB), std::end(kTileMiB));
  if (fixed_tile_mib() >= 0) tiles = {fixed_tile_mib()};
  std::vector<Choice> all;
  for (int64_t tile : tiles)
    for (int gemm = 0; gemm < 2; ++gemm) {
      const bool usable = gemm == static_cast<int>(Gemm::Blas) || ft::onednn::available();
      if (usable && (!fixed_gemm || *fixed_gemm == gemm)) all.push_back({tile, static_cast<Gemm>(gemm)});
    }
  if (all.empty()) throw std::invalid_argument("FARM_ATTENTION_GEMM=onednn, but this libtorch does not expose oneDNN's sgemm: use blas or auto");
  return all;
}

at::Tensor attend_with(const Choice& choice, const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, double scale, int64_t max_score_bytes) {
  if (choice.tile_mib == 0) return attend_by_heads(q, k, v, scale, max_score_bytes, choice.gemm);
  return attend_by_query_tiles(q, k, v, scale, choice.tile_mib << 20, choice.gemm);
}

}  // namespace

// max_score_bytes bounds the float scores held at once on the whole-head path (0 = no bound).
FT_EXPORT int ft_nn_attention(ft_tensor q, ft_tensor k, ft_tensor v, double scale, int64_t max_score_bytes, ft_tensor* out) {
  return ft::guard([&] {
    const bool large = fits_in_place(*q, *k) && q->is_cpu() && q->size(1) * k->size(1) >= kMinTunedScores;
    if (!large) {
      ft::put(out, attend_by_heads(*q, *k, *v, scale, max_score_bytes));
      return;
    }
    // oneDNN's products need unit stride along each row; a no-op for the engine's own layouts.
    auto qc = q->contiguous(), kc = k->contiguous(), vc = v->contiguous();
    std::ostringstream key;
    key << "attention:" << qc.size(0) << 'x' << qc.size(1) << 'x' << kc.size(1) << 'x' << qc.size(2) << ":t" << at::get_num_threads();
    if (auto known = ft::tuning::find(key.str()))
      if (auto choice = Choice::parse(*known)) {
        ft::put(out, attend_with(*choice, qc, kc, vc, scale, max_score_bytes));
        return;
      }
    auto all = candidates();
    const Choice best = all.size() == 1 ? all[0] : all[ft::tuning::fastest(static_cast<int>(all.size()), [&](int i) { return attend_with(all[i], qc, kc, vc, scale, max_score_bytes); })];
    if (all.size() > 1) ft::tuning::remember(key.str(), best.name());
    ft::put(out, attend_with(best, qc, kc, vc, scale, max_score_bytes));
  });
}

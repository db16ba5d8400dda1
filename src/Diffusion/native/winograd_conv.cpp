#include "winograd_conv.h"
#include <oneapi/dnnl/dnnl.hpp>
#include <algorithm>
#include <map>
#include <mutex>

namespace {

using dnnl::memory;
using Tag = memory::format_tag;
constexpr auto F32 = memory::data_type::f32;

// The image is convolved in bands of output rows, so that the blocked copies and oneDNN's scratchpad (together
// several times the band's input) stay small beside the activations: about this many bytes of input per band.
constexpr int64_t kBandInputBytes = int64_t(16) << 20;

dnnl::engine& cpu() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

// One band's convolution: channels, input rows, width, output channels, horizontal padding, the padding above and
// below the band (only at the image's edges), bias, and the strides of the band's input and output views.
struct BandShape {
  int64_t channels, rows, width, outputs, padding, top, bottom;
  bool bias;
  std::vector<int64_t> src_strides, dst_strides;
  auto tied() const { return std::tie(channels, rows, width, outputs, padding, top, bottom, bias, src_strides, dst_strides); }
  bool operator<(const BandShape& other) const { return tied() < other.tied(); }
};

// The primitives for one band shape, made once: oneDNN JIT-compiles each, which takes milliseconds.
struct Plan {
  dnnl::convolution_forward::primitive_desc conv_desc;
  dnnl::convolution_forward conv;
  dnnl::reorder src_in, dst_out;
};

memory::desc strided(const memory::dims& dims, const std::vector<int64_t>& strides) {
  return memory::desc(dims, F32, memory::dims(strides.begin(), strides.end()));
}

// Null when oneDNN has no Winograd kernel for this shape or CPU (remembered, so it is not asked again).
const Plan* plan_for(const BandShape& s) {
  static std::mutex lock;
  static std::map<BandShape, std::unique_ptr<Plan>> plans;
  std::lock_guard<std::mutex> hold(lock);
  if (auto found = plans.find(s); found != plans.end()) return found->second.get();
  const memory::dims src{1, s.channels, s.rows, s.width};
  const memory::dims dst{1, s.outputs, s.rows + s.top + s.bottom - 2, s.width + 2 * s.padding - 2};
  std::unique_ptr<Plan> plan;
  try {
    memory::desc any_src(src, F32, Tag::any), any_weights({s.outputs, s.channels, 3, 3}, F32, Tag::any), any_dst(dst, F32, Tag::any);
    const auto kind = dnnl::prop_kind::forward_inference;
    const auto algorithm = dnnl::algorithm::convolution_winograd;
    const memory::dims stride{1, 1}, before{s.top, s.padding}, after{s.bottom, s.padding};
    auto desc = s.bias ? dnnl::convolution_forward::desc(kind, algorithm, any_src, any_weights, memory::desc({s.outputs}, F32, Tag::x),
                                                         any_dst, stride, before, after)
                       : dnnl::convolution_forward::desc(kind, algorithm, any_src, any_weights, any_dst, stride, before, after);
    dnnl::primitive_attr attributes;
    attributes.set_scratchpad_mode(dnnl::scratchpad_mode::user);  // each call brings its own: calls may run at once
    dnnl::convolution_forward::primitive_desc conv_desc(desc, attributes, cpu());
    plan = std::make_unique<Plan>(Plan{
        conv_desc, dnnl::convolution_forward(conv_desc),
        dnnl::reorder(memory(strided(src, s.src_strides), cpu(), nullptr), memory(conv_desc.src_desc(), cpu(), nullptr)),
        dnnl::reorder(memory(conv_desc.dst_desc(), cpu(), nullptr), memory(strided(dst, s.dst_strides), cpu(), nullptr))});
  } catch (const dnnl::error&) {
    plan = nullptr;
  }
  return (plans[s] = std::move(plan)).get();
}

// A float buffer of `desc`'s size from libtorch's allocator, as oneDNN memory.
std::pair<at::Tensor, memory> buffer(const memory::desc& desc) {
  auto storage = at::empty({static_cast<int64_t>(desc.get_size() / sizeof(float)) + 1}, at::kFloat);
  return {storage, memory(desc, cpu(), storage.data_ptr())};
}

int64_t band_rows(const at::Tensor& x) {
  const int64_t row_bytes = x.size(1) * x.size(3) * static_cast<int64_t>(sizeof(float));
  return std::max<int64_t>(4, kBandInputBytes / row_bytes / 4 * 4);  // whole Winograd tiles of 4 rows
}

// Output rows [first, last) of a 3×3 convolution read input rows [first - padding, last - padding + 2), clipped to
// the image; what is clipped becomes the band's own padding above (top) and below (bottom).
struct Band {
  int64_t first, last, in_first, in_last, top, bottom;
};

Band band_of(int64_t first, int64_t last, int64_t height, int64_t padding) {
  const int64_t in_first = std::max<int64_t>(0, first - padding), in_last = std::min<int64_t>(height, last + 2 - padding);
  return {first, last, in_first, in_last, in_first - (first - padding), (last + 2 - padding) - in_last};
}

BandShape shape_of(const at::Tensor& src, const at::Tensor& dst, const at::Tensor& w, int64_t padding, const Band& band, bool bias) {
  return {src.size(1), band.in_last - band.in_first, src.size(3), w.size(0), padding, band.top, band.bottom, bias,
          src.strides().vec(), dst.strides().vec()};
}

// The output tensor conv2d returns: x's memory format.
at::Tensor output_for(const at::Tensor& input, const at::Tensor& w, int64_t padding, bool nhwc) {
  return at::empty({input.size(0), w.size(0), input.size(2) + 2 * padding - 2, input.size(3) + 2 * padding - 2},
                   input.options().memory_format(nhwc ? at::MemoryFormat::ChannelsLast : at::MemoryFormat::Contiguous));
}

// Calls visit(input rows view, output rows view, plan) for every band of the first `images` images, in order, while
// it returns true; the plan is null where oneDNN has none.
template <class Visit>
void for_each_band(const at::Tensor& input, const at::Tensor& out, const at::Tensor& w, int64_t padding, bool bias, int64_t images, Visit visit) {
  const int64_t rows = band_rows(input), out_height = out.size(2);
  for (int64_t n = 0; n < images; ++n)
    for (int64_t first = 0; first < out_height; first += rows) {
      const Band band = band_of(first, std::min(first + rows, out_height), input.size(2), padding);
      auto src_view = input.narrow(0, n, 1).narrow(2, band.in_first, band.in_last - band.in_first);
      auto dst_view = out.narrow(0, n, 1).narrow(2, band.first, band.last - band.first);
      if (!visit(src_view, dst_view, plan_for(shape_of(src_view, dst_view, w, padding, band, bias)))) return;
    }
}

bool is_nhwc(const at::Tensor& x) { return x.is_contiguous(at::MemoryFormat::ChannelsLast) && !x.is_contiguous(); }

}  // namespace

namespace ft::winograd {

bool shaped_for(const at::Tensor& x, const at::Tensor& w, int64_t stride, int64_t padding) {
  return x.is_cpu() && x.scalar_type() == at::kFloat && w.scalar_type() == at::kFloat && x.dim() == 4 && w.dim() == 4 &&
         w.size(2) == 3 && w.size(3) == 3 && w.size(1) == x.size(1) && stride == 1 && padding <= 1 &&
         x.size(2) + 2 * padding >= 3 && x.size(3) + 2 * padding >= 3;
}

bool supports(const at::Tensor& x, const at::Tensor& w, const c10::optional<at::Tensor>& b, int64_t stride, int64_t padding) {
  if (!shaped_for(x, w, stride, padding)) return false;
  const bool nhwc = is_nhwc(x);
  auto input = nhwc ? x : x.contiguous();
  auto out = output_for(input, w, padding, nhwc);  // not written: only its strides are read
  bool all = true;
  for_each_band(input, out, w, padding, b && b->defined(), 1, [&](const at::Tensor&, const at::Tensor&, const Plan* plan) { return all = plan != nullptr; });
  return all;
}

at::Tensor conv2d(const at::Tensor& x, const at::Tensor& w, const c10::optional<at::Tensor>& b, int64_t padding) {
  const bool bias = b && b->defined();
  const bool nhwc = is_nhwc(x);
  auto input = nhwc ? x : x.contiguous();
  auto weights = w.contiguous();
  at::Tensor contiguous_bias = bias ? b->contiguous() : at::Tensor();
  auto out = output_for(input, w, padding, nhwc);
  dnnl::stream stream(cpu());
  memory user_weights({{w.size(0), w.size(1), 3, 3}, F32, Tag::oihw}, cpu(), weights.data_ptr());
  at::Tensor weights_storage;
  memory transformed;  // the weights in Winograd form, made once per call and shared by every band
  for_each_band(input, out, weights, padding, bias, input.size(0), [&](const at::Tensor& src_view, const at::Tensor& dst_view, const Plan* plan) {
    if (!plan) throw std::invalid_argument("oneDNN has no Winograd convolution for this shape on this CPU");
    if (!weights_storage.defined() || transformed.get_desc() != plan->conv_desc.weights_desc()) {
      std::tie(weights_storage, transformed) = buffer(plan->conv_desc.weights_desc());
      dnnl::reorder(user_weights, transformed).execute(stream, user_weights, transformed);
    }
    auto [src_storage, src] = buffer(plan->conv_desc.src_desc());
    memory user_src(strided(src_view.sizes().vec(), src_view.strides().vec()), cpu(), src_view.data_ptr());
    plan->src_in.execute(stream, user_src, src);
    auto [dst_storage, dst] = buffer(plan->conv_desc.dst_desc());
    auto [scratch_storage, scratch] = buffer(plan->conv_desc.scratchpad_desc());
    std::unordered_map<int, memory> args{{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, transformed}, {DNNL_ARG_DST, dst}, {DNNL_ARG_SCRATCHPAD, scratch}};
    if (bias) args.emplace(DNNL_ARG_BIAS, memory({{w.size(0)}, F32, Tag::x}, cpu(), contiguous_bias.data_ptr()));
    plan->conv.execute(stream, args);
    memory user_dst(strided(dst_view.sizes().vec(), dst_view.strides().vec()), cpu(), dst_view.data_ptr());
    plan->dst_out.execute(stream, dst, user_dst);
    stream.wait();
    return true;
  });
  return out;
}

}  // namespace ft::winograd

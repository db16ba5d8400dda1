// CPU memory for large tensors: mappings that start on a 2 MiB boundary, backed by transparent huge pages.
//
// A UNet step allocates and frees gigabytes of activations and attention scores. With libtorch's default
// allocator every large block is a fresh glibc mmap, faulted in 4 KiB at a time and unmapped on free; on this
// kind of VM those faults were a third of the CPU time of a step. Here blocks of kLargeBlock and up are mapped
// with MADV_HUGEPAGE (one fault per 2 MiB) and unmapped on free, so peak memory still follows the live peak
// (no cache, no heap fragmentation). Smaller blocks go to libtorch's own allocator. Installed when the library
// loads; FARM_HUGEPAGES=0 turns it off.
#include "ft_common.h"
#include <c10/core/Allocator.h>
#include <torch/version.h>
#include <sys/mman.h>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <unordered_map>

#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 3)
#define FT_ALLOCATE_CONST
#define FT_HAS_COPY_DATA 1
#else
#define FT_ALLOCATE_CONST const
#define FT_HAS_COPY_DATA 0
#endif

namespace {

constexpr size_t kPage = size_t(4) << 10;
constexpr size_t kHugePage = size_t(2) << 20;
constexpr size_t kLargeBlock = size_t(4) << 20;

// Lengths of the live mappings. The data pointer doubles as the DataPtr context: raw_allocate/raw_deallocate
// (used by oneDNN through c10) require it.
std::mutex mappings_lock;
std::unordered_map<void*, size_t> mappings;
c10::DeleterFnPtr fallback_deleter = nullptr;

void release(void* block) {
  size_t length = 0;
  {
    std::lock_guard<std::mutex> hold(mappings_lock);
    auto found = mappings.find(block);
    if (found != mappings.end()) {
      length = found->second;
      mappings.erase(found);
    }
  }
  if (length > 0) munmap(block, length);
  else if (fallback_deleter) fallback_deleter(block);  // a small block raw-allocated from the fallback
}

class HugePageAllocator final : public c10::Allocator {
 public:
  explicit HugePageAllocator(c10::Allocator* fallback) : fallback_(fallback) {}

  c10::DataPtr allocate(size_t bytes) FT_ALLOCATE_CONST override {
    if (bytes < kLargeBlock) return fallback_->allocate(bytes);
    // Only whole pages, not whole huge pages: the tail past the last 2 MiB boundary stays on 4 KiB pages, so a
    // 9 MiB weight costs 9 MiB, not 10 (rounding up to huge pages cost the UNet's and CLIP's weights 5-10%).
    const size_t length = (bytes + kPage - 1) / kPage * kPage;
    // Map one huge page more than needed and trim both ends so the block starts on a 2 MiB boundary.
    void* raw = mmap(nullptr, length + kHugePage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED) return fallback_->allocate(bytes);
    auto start = reinterpret_cast<uintptr_t>(raw);
    auto aligned = (start + kHugePage - 1) / kHugePage * kHugePage;
    if (aligned > start) munmap(raw, aligned - start);
    size_t tail = start + length + kHugePage - (aligned + length);
    if (tail > 0) munmap(reinterpret_cast<void*>(aligned + length), tail);
    void* block = reinterpret_cast<void*>(aligned);
    madvise(block, length, MADV_HUGEPAGE);
    {
      std::lock_guard<std::mutex> hold(mappings_lock);
      mappings.emplace(block, length);
    }
    return {block, block, &release, c10::Device(c10::DeviceType::CPU)};
  }

  c10::DeleterFnPtr raw_deleter() const override { return &release; }

#if FT_HAS_COPY_DATA
  void copy_data(void* destination, const void* source, std::size_t count) const override {
    std::memcpy(destination, source, count);
  }
#endif

 private:
  c10::Allocator* fallback_;
};

struct Install {
  Install() {
    const char* setting = std::getenv("FARM_HUGEPAGES");
    if (setting && std::strcmp(setting, "0") == 0) return;
    c10::Allocator* fallback = c10::GetAllocator(c10::DeviceType::CPU);
    fallback_deleter = fallback->raw_deleter();
    if (!fallback_deleter) return;  // raw frees of small blocks could not be routed back
    static HugePageAllocator allocator(fallback);
    c10::SetAllocator(c10::DeviceType::CPU, &allocator, /*priority=*/1);
  }
} install;

}  // namespace

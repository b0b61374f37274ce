#include "call_scratch.h"

#include <new>
#include <string>

#include "error.h"

namespace conv1x1 {
namespace {

constexpr uintptr_t kLineBytes = 64;
constexpr size_t kLineFloats = kLineBytes / sizeof(float);
// What one thread keeps between calls: at most two buffers (a padded layer takes two at once), of at
// most this many bytes together; a larger one is freed when its call ends.
constexpr size_t kKeptBuffers = 2;
constexpr size_t kMaxKeptBytes = size_t{32} << 20;

struct Kept {
  float* memory = nullptr;
  size_t floats = 0;
};

// Freed when the thread ends.
struct ThreadCache {
  Kept kept[kKeptBuffers];
  ~ThreadCache() {
    for (Kept& k : kept) delete[] k.memory;
  }
  size_t kept_bytes() const {
    size_t bytes = 0;
    for (const Kept& k : kept) bytes += k.floats * sizeof(float);
    return bytes;
  }
};

ThreadCache& thread_cache() {
  static thread_local ThreadCache cache;
  return cache;
}

}  // namespace

CallScratch::CallScratch(int64_t elements, const char* what) {
  const size_t wanted = static_cast<size_t>(elements > 0 ? elements : 0) + kLineFloats;
  ThreadCache& cache = thread_cache();
  // The smallest kept buffer that is large enough.
  Kept* best = nullptr;
  for (Kept& k : cache.kept) {
    if (k.memory && k.floats >= wanted && (!best || k.floats < best->floats)) best = &k;
  }
  if (best) {
    memory_ = best->memory;
    floats_ = best->floats;
    *best = Kept{};
  } else {
    memory_ = new (std::nothrow) float[wanted];
    if (!memory_) {
      throw Error(ErrorCode::OutOfMemory, "could not allocate " + std::to_string(wanted * sizeof(float)) +
                                              " bytes of scratch for " + what);
    }
    floats_ = wanted;
  }
  // The first line boundary in the memory: at most a line minus one float on (memory from new[] is
  // float-aligned), which `wanted` has room for.
  const uintptr_t base = reinterpret_cast<uintptr_t>(memory_);
  data_ = reinterpret_cast<float*>(base + (kLineBytes - base % kLineBytes) % kLineBytes);
}

CallScratch::~CallScratch() {
  ThreadCache& cache = thread_cache();
  const size_t bytes = floats_ * sizeof(float);
  if (bytes <= kMaxKeptBytes) {
    // Room by dropping the smaller kept buffers first: the large ones are the costly ones to fault in.
    for (;;) {
      Kept* empty = nullptr;
      Kept* smallest = nullptr;
      for (Kept& k : cache.kept) {
        if (!k.memory) empty = &k;
        else if (!smallest || k.floats < smallest->floats) smallest = &k;
      }
      if (empty && cache.kept_bytes() + bytes <= kMaxKeptBytes) {
        *empty = Kept{memory_, floats_};
        return;
      }
      if (!smallest) break;
      delete[] smallest->memory;
      *smallest = Kept{};
    }
  }
  delete[] memory_;
}

}  // namespace conv1x1

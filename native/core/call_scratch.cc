#include "call_scratch.h"

#include <new>
#include <string>

#include "error.h"
#include "kept_buffers.h"

namespace conv1x1 {
namespace {

constexpr uintptr_t kLineBytes = 64;
constexpr size_t kLineFloats = kLineBytes / sizeof(float);

// What one thread keeps between calls: at most two buffers (a padded layer takes two at once), of at
// most 32 MiB together; a larger one is freed when its call ends. Freed when the thread ends.
KeptBuffers& thread_buffers() {
  static thread_local KeptBuffers kept(2, size_t{32} << 20);
  return kept;
}

}  // namespace

CallScratch::CallScratch(int64_t elements, const char* what) {
  const size_t wanted = static_cast<size_t>(elements > 0 ? elements : 0) + kLineFloats;
  storage_ = thread_buffers().take(wanted, &capacity_);
  if (!storage_) {
    storage_.reset(new (std::nothrow) float[wanted]);
    if (!storage_) {
      throw Error(ErrorCode::OutOfMemory, "could not allocate " + std::to_string(wanted * sizeof(float)) +
                                              " bytes of scratch for " + what);
    }
    capacity_ = wanted;
  }
  // The first line boundary in the memory: at most a line minus one float on (memory from new[] is
  // float-aligned), which `wanted` has room for.
  const uintptr_t base = reinterpret_cast<uintptr_t>(storage_.get());
  data_ = reinterpret_cast<float*>(base + (kLineBytes - base % kLineBytes) % kLineBytes);
}

CallScratch::~CallScratch() { thread_buffers().give_back(std::move(storage_), capacity_); }

}  // namespace conv1x1

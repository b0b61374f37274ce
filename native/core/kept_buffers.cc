#include "kept_buffers.h"

#include <algorithm>

namespace conv1x1 {

KeptBuffers::KeptBuffers(size_t max_buffers, size_t max_bytes) : max_buffers_(max_buffers), max_bytes_(max_bytes) {
  kept_.reserve(max_buffers);
}

std::unique_ptr<float[]> KeptBuffers::take(size_t floats, size_t* capacity) {
  auto best = kept_.end();
  for (auto it = kept_.begin(); it != kept_.end(); ++it) {
    if (it->capacity >= floats && (best == kept_.end() || it->capacity < best->capacity)) best = it;
  }
  if (best == kept_.end()) return nullptr;
  std::unique_ptr<float[]> storage = std::move(best->storage);
  *capacity = best->capacity;
  kept_bytes_ -= best->capacity * sizeof(float);
  kept_.erase(best);
  return storage;
}

void KeptBuffers::give_back(std::unique_ptr<float[]> buffer, size_t capacity) noexcept {
  const size_t bytes = capacity * sizeof(float);
  if (!buffer || max_buffers_ == 0 || bytes > max_bytes_) return;  // freed here
  while (!kept_.empty() && (kept_.size() >= max_buffers_ || kept_bytes_ + bytes > max_bytes_)) {
    auto smallest = std::min_element(kept_.begin(), kept_.end(),
                                     [](const Kept& a, const Kept& b) { return a.capacity < b.capacity; });
    kept_bytes_ -= smallest->capacity * sizeof(float);
    kept_.erase(smallest);
  }
  kept_bytes_ += bytes;
  kept_.push_back(Kept{std::move(buffer), capacity});  // within the reserved size: no allocation
}

}  // namespace conv1x1

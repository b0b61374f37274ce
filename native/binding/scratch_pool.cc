#include "scratch_pool.h"

#include <algorithm>

namespace conv1x1 {
namespace binding {

ScratchBuffer::ScratchBuffer(size_t elements) { ScratchPool::instance().take(elements, this); }

ScratchBuffer::~ScratchBuffer() {
  if (storage_) ScratchPool::instance().give_back(this);
}

ScratchPool& ScratchPool::instance() {
  static ScratchPool* pool = new ScratchPool();  // never destroyed: buffers may die at process exit
  return *pool;
}

void ScratchPool::take(size_t elements, ScratchBuffer* buffer) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto best = kept_.end();
    for (auto it = kept_.begin(); it != kept_.end(); ++it) {
      if (it->capacity_ >= elements && (best == kept_.end() || it->capacity_ < best->capacity_)) best = it;
    }
    if (best != kept_.end()) {
      kept_bytes_ -= best->capacity_ * sizeof(float);
      buffer->storage_ = std::move(best->storage_);
      buffer->capacity_ = best->capacity_;
      kept_.erase(best);
    }
  }
  if (!buffer->storage_) {
    buffer->storage_.reset(new float[elements > 0 ? elements : 1]);
    buffer->capacity_ = elements;
  }
  buffer->size_ = elements;
}

void ScratchPool::give_back(ScratchBuffer* buffer) {
  const size_t bytes = buffer->capacity_ * sizeof(float);
  std::lock_guard<std::mutex> lock(mutex_);
  if (bytes > kMaxKeptBytes) return;
  // Make room by dropping the smallest kept buffers: the large ones are the expensive ones to fault in.
  while (!kept_.empty() && (kept_.size() >= kMaxKeptBuffers || kept_bytes_ + bytes > kMaxKeptBytes)) {
    auto smallest = std::min_element(kept_.begin(), kept_.end(), [](const ScratchBuffer& a, const ScratchBuffer& b) {
      return a.capacity_ < b.capacity_;
    });
    kept_bytes_ -= smallest->capacity_ * sizeof(float);
    smallest->storage_.reset();  // freed here, so its destructor does not hand it back to us
    kept_.erase(smallest);
  }
  ScratchBuffer kept;
  kept.storage_ = std::move(buffer->storage_);
  kept.capacity_ = buffer->capacity_;
  kept_bytes_ += bytes;
  kept_.push_back(std::move(kept));
}

}  // namespace binding
}  // namespace conv1x1

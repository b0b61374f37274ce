#include "scratch_pool.h"

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
    buffer->storage_ = kept_.take(elements, &buffer->capacity_);
  }
  if (!buffer->storage_) {
    buffer->storage_.reset(new float[elements > 0 ? elements : 1]);
    buffer->capacity_ = elements;
  }
  buffer->size_ = elements;
}

void ScratchPool::give_back(ScratchBuffer* buffer) {
  std::lock_guard<std::mutex> lock(mutex_);
  kept_.give_back(std::move(buffer->storage_), buffer->capacity_);
}

}  // namespace binding
}  // namespace conv1x1

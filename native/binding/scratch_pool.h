#pragma once
// Reusable float buffers for async calls' private copies (the input snapshot, and the result when the
// caller gives `out`): buffers handed back are kept, process-wide, for the next call (see KeptBuffers).
#include <cstddef>
#include <memory>
#include <mutex>

#include "../core/kept_buffers.h"

namespace conv1x1 {
namespace binding {

class ScratchBuffer {
 public:
  ScratchBuffer() = default;
  explicit ScratchBuffer(size_t elements);  // from the pool when it can, uninitialized
  ~ScratchBuffer();
  ScratchBuffer(ScratchBuffer&&) noexcept = default;
  ScratchBuffer& operator=(ScratchBuffer&&) noexcept = default;

  float* data() { return storage_.get(); }
  const float* data() const { return storage_.get(); }
  size_t size() const { return size_; }

 private:
  friend class ScratchPool;
  std::unique_ptr<float[]> storage_;
  size_t capacity_ = 0;
  size_t size_ = 0;
};

class ScratchPool {
 public:
  static ScratchPool& instance();
  // Takes the smallest kept buffer that is large enough, or allocates one.
  void take(size_t elements, ScratchBuffer* buffer);
  void give_back(ScratchBuffer* buffer);

 private:
  std::mutex mutex_;
  KeptBuffers kept_{8, size_t{256} << 20};  // at most 8 buffers, 256 MiB
};

}  // namespace binding
}  // namespace conv1x1

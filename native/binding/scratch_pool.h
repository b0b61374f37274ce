#pragma once
// Reusable float buffers for async calls' private copies (the input snapshot, and the result when the
// caller gives `out`). A fresh multi-megabyte allocation costs a page fault per 4 KiB on first touch,
// more than the copy itself; buffers handed back are kept (a few, up to a byte cap) for the next call.
#include <cstddef>
#include <memory>
#include <mutex>
#include <vector>

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
  static constexpr size_t kMaxKeptBuffers = 8;
  static constexpr size_t kMaxKeptBytes = size_t{256} << 20;
  std::mutex mutex_;
  std::vector<ScratchBuffer> kept_;
  size_t kept_bytes_ = 0;
};

}  // namespace binding
}  // namespace conv1x1

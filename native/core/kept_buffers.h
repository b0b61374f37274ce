#pragma once
// Float buffers kept after use for the next call that needs as many floats: a fresh multi-megabyte
// allocation costs a page fault per 4 KiB on first touch, more than the copy or gather it holds.
// At most `max_buffers`, of at most `max_bytes` together; the smallest go first to make room (the
// large ones are the costly ones to fault in). Not thread-safe: one per thread, or behind a lock.
#include <cstddef>
#include <memory>
#include <vector>

namespace conv1x1 {

class KeptBuffers {
 public:
  KeptBuffers(size_t max_buffers, size_t max_bytes);  // reserves its list: give_back never allocates

  // The smallest kept buffer of at least `floats`, no longer kept, with its size in *capacity; null
  // when none is large enough.
  std::unique_ptr<float[]> take(size_t floats, size_t* capacity);
  // Keeps `buffer` of `capacity` floats, or frees it when it alone is over max_bytes.
  void give_back(std::unique_ptr<float[]> buffer, size_t capacity) noexcept;

 private:
  struct Kept {
    std::unique_ptr<float[]> storage;
    size_t capacity = 0;
  };
  size_t max_buffers_, max_bytes_;
  std::vector<Kept> kept_;
  size_t kept_bytes_ = 0;
};

}  // namespace conv1x1

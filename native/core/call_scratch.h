#pragma once
// Scratch memory for one convolution call (the gathered pixels of a strided or padded layer):
// uninitialized, placed at a chosen offset within a cache line, and kept by the calling thread for
// its next call. A fresh zeroed buffer on every call costs a pass over it on the calling thread alone
// (and page faults when the allocator returns it to the system): on ResNet-50's 56² 256→512 stride-2
// layer, measured at 2 threads, about 10% of the call.
#include <cstddef>
#include <cstdint>

namespace conv1x1 {

class CallScratch {
 public:
  // `elements` floats whose first lies at the same offset within a 64-byte line as `align_like` (so
  // that kernels aligning one also align the other), or on a line boundary when it is null. Throws
  // Error(OutOfMemory) naming `what` when there is no memory for it.
  CallScratch(int64_t elements, const void* align_like, const char* what);
  ~CallScratch();  // hands the memory back to this thread, which keeps it when it is not too large
  CallScratch(const CallScratch&) = delete;
  CallScratch& operator=(const CallScratch&) = delete;

  float* data() const { return data_; }

 private:
  float* memory_ = nullptr;  // as allocated
  size_t floats_ = 0;        // allocated, including the room for the offset
  float* data_ = nullptr;
};

}  // namespace conv1x1

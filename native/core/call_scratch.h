#pragma once
// Scratch memory for one convolution call (the gathered pixels of a strided or padded layer):
// uninitialized, starting on a 64-byte line (so the kernels' vector loads of it never straddle two
// lines and need no narrow first tile), and kept by the calling thread for its next call. A fresh
// zeroed buffer on every call costs a pass over it on the calling thread alone (and page faults when
// the allocator has returned it to the system). Measured on ResNet-50's 56² 256→512 stride-2 layer
// (AVX-512): keeping it, +10% at 2 threads; on a line boundary rather than where the output's line
// offset would put it, +9% at 1 thread.
#include <cstddef>
#include <cstdint>
#include <memory>

namespace conv1x1 {

class CallScratch {
 public:
  // `elements` floats from a line boundary. Throws Error(OutOfMemory) naming `what` when there is no
  // memory for it.
  CallScratch(int64_t elements, const char* what);
  ~CallScratch();  // hands the memory back to this thread's KeptBuffers
  CallScratch(const CallScratch&) = delete;
  CallScratch& operator=(const CallScratch&) = delete;

  float* data() const { return data_; }

 private:
  std::unique_ptr<float[]> storage_;  // as allocated
  size_t capacity_ = 0;               // floats allocated, including the room to reach a line boundary
  float* data_ = nullptr;
};

}  // namespace conv1x1

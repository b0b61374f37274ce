#pragma once
// One interface for every GEMM backend: C[M×N] = A[M×K] · op(B), row-major, C overwritten (β = 0).
// op(B) is B[K×N] or, with b_transposed, the transpose of B[N×K]. A call runs on the calling thread
// only: the core splits a convolution into tiles and spreads those over threads itself. Sizes are 64-bit here; a backend with
// 32-bit limits splits or refuses the call itself.
#include <cstdint>

namespace conv1x1 {

struct GemmArgs {
  int64_t m = 0, n = 0, k = 0;
  const float* a = nullptr;
  int64_t lda = 0;
  const float* b = nullptr;
  int64_t ldb = 0;
  bool b_transposed = false;
  float* c = nullptr;
  int64_t ldc = 0;
};

class GemmBackend {
 public:
  virtual ~GemmBackend() = default;
  // Callers guarantee m, n, k > 0 and leading dimensions that fit the matrices. Safe to call from
  // several threads at once.
  virtual void sgemm(const GemmArgs& args) const = 0;
  virtual const char* name() const = 0;
};

}  // namespace conv1x1

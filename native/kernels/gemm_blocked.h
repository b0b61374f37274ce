#pragma once
// Cache-blocked portable GEMM, compiled once per instruction set (the only files built with ISA
// flags). Contract: C[M×N] = A[M×K] · B[K×N], row-major, C overwritten; m, n, k > 0; B not transposed.
#include "../gemm/gemm.h"

namespace conv1x1 {
namespace kernels {

namespace portable { void gemm_blocked(const GemmArgs& args); }
#if defined(__x86_64__) || defined(_M_X64)
namespace avx2 { void gemm_blocked(const GemmArgs& args); }
namespace avx512 { void gemm_blocked(const GemmArgs& args); }
#endif

}  // namespace kernels
}  // namespace conv1x1

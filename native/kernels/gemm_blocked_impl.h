// The body of the blocked GEMM, included by one .cc file per instruction set with CONV1X1_KERNEL_ISA
// (a namespace name) and CONV1X1_KERNEL_NR (floats per tile row: two vector registers) defined.
// Everything here has internal linkage and uses no std:: templates: an inline function instantiated
// under AVX-512 flags must never be picked by the linker for the portable build.
#include <stdint.h>

#include "gemm_blocked.h"

namespace conv1x1 {
namespace kernels {
namespace CONV1X1_KERNEL_ISA {
namespace {

// MR×NR accumulators fill 12 vector registers; A is read in place (rows of weights), B rows are read
// NR floats at a time, so neither operand is packed. KC×NC of B (256 × 512 floats) stays in L2 while
// every MR-row strip of A sweeps it.
constexpr int kMR = 6;
constexpr int kNR = CONV1X1_KERNEL_NR;
constexpr int64_t kKC = 256;
constexpr int64_t kNC = 512;

inline int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

// Every loop over the accumulators is fully unrolled so that they live in registers.
void tile_full(int64_t kc, const float* a, int64_t lda, const float* b, int64_t ldb, float* c,
               int64_t ldc, bool accumulate) {
  float acc[kMR][kNR];
#pragma GCC unroll 6
  for (int i = 0; i < kMR; ++i)
#pragma GCC unroll 32
    for (int j = 0; j < kNR; ++j) acc[i][j] = 0.0f;
  for (int64_t p = 0; p < kc; ++p) {
    const float* b_row = b + p * ldb;
#pragma GCC unroll 6
    for (int i = 0; i < kMR; ++i) {
      const float a_ip = a[i * lda + p];
#pragma GCC unroll 32
      for (int j = 0; j < kNR; ++j) acc[i][j] += a_ip * b_row[j];
    }
  }
#pragma GCC unroll 6
  for (int i = 0; i < kMR; ++i) {
    float* c_row = c + i * ldc;
    if (accumulate) {
#pragma GCC unroll 32
      for (int j = 0; j < kNR; ++j) c_row[j] += acc[i][j];
    } else {
#pragma GCC unroll 32
      for (int j = 0; j < kNR; ++j) c_row[j] = acc[i][j];
    }
  }
}

// Ragged edges go through the same full tile: the last rows of A and the last columns of B are copied
// into zero-padded panels, and the tile is written to a scratch block of which only the valid part is
// stored. This keeps the edges vectorized (a ragged loop runs scalar, ~5× slower).
void tile_padded(int mr, int nr, int64_t kc, const float* a, int64_t lda, const float* b,
                 int64_t ldb, float* c, int64_t ldc, bool accumulate) {
  float block[kMR * kNR];
  tile_full(kc, a, lda, b, ldb, block, kNR, false);
  for (int i = 0; i < mr; ++i) {
    float* c_row = c + i * ldc;
    const float* t_row = block + i * kNR;
    for (int j = 0; j < nr; ++j) c_row[j] = accumulate ? c_row[j] + t_row[j] : t_row[j];
  }
}

}  // namespace

void gemm_blocked(const GemmArgs& g) {
  // Zero-padded copies of the ragged right strip of B and bottom strip of A for the current K block.
  alignas(64) float b_edge[kKC * kNR];
  alignas(64) float a_edge[kMR * kKC];
  for (int64_t jc = 0; jc < g.n; jc += kNC) {
    const int64_t nc = min64(kNC, g.n - jc);
    const int64_t n_full = nc - nc % kNR;
    const int nr_edge = static_cast<int>(nc - n_full);
    for (int64_t pc = 0; pc < g.k; pc += kKC) {
      const int64_t kc = min64(kKC, g.k - pc);
      const bool accumulate = pc > 0;
      if (nr_edge > 0) {
        const float* b = g.b + pc * g.ldb + jc + n_full;
        for (int64_t p = 0; p < kc; ++p) {
          for (int j = 0; j < kNR; ++j) b_edge[p * kNR + j] = j < nr_edge ? b[p * g.ldb + j] : 0.0f;
        }
      }
      for (int64_t ic = 0; ic < g.m; ic += kMR) {
        const int mr = static_cast<int>(min64(kMR, g.m - ic));
        const float* a = g.a + ic * g.lda + pc;
        int64_t lda = g.lda;
        if (mr < kMR) {
          for (int i = 0; i < kMR; ++i) {
            for (int64_t p = 0; p < kc; ++p) a_edge[i * kc + p] = i < mr ? a[i * g.lda + p] : 0.0f;
          }
          a = a_edge;
          lda = kc;
        }
        float* c_strip = g.c + ic * g.ldc + jc;
        for (int64_t jr = 0; jr < n_full; jr += kNR) {
          const float* b = g.b + pc * g.ldb + jc + jr;
          if (mr == kMR) {
            tile_full(kc, a, lda, b, g.ldb, c_strip + jr, g.ldc, accumulate);
          } else {
            tile_padded(mr, kNR, kc, a, lda, b, g.ldb, c_strip + jr, g.ldc, accumulate);
          }
        }
        if (nr_edge > 0) {
          tile_padded(mr, nr_edge, kc, a, lda, b_edge, kNR, c_strip + n_full, g.ldc, accumulate);
        }
      }
    }
  }
}

}  // namespace CONV1X1_KERNEL_ISA
}  // namespace kernels
}  // namespace conv1x1

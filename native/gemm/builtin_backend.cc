#include "builtin_backend.h"

#include <cstddef>
#include <vector>

#include "../kernels/gemm_blocked.h"

namespace conv1x1 {
namespace {

// A product with very few columns (a Linear layer as a 1×1 conv on one pixel, n = 1) wastes nearly
// all of a kernel tile's lanes: each output is a dot product of a row of A with a column of B instead,
// vectorized along K where the column is contiguous.
constexpr int64_t kMaxDotColumns = 4;

// Eight independent partial sums: the compiler may not reorder one float sum into vector lanes, but
// it vectorizes these, and they hide the latency of the adds.
float dot(const float* a, const float* b, int64_t stride, int64_t k) {
  constexpr int kLanes = 8;
  float partial[kLanes] = {};
  int64_t p = 0;
  if (stride == 1) {
    for (; p + kLanes <= k; p += kLanes) {
      for (int l = 0; l < kLanes; ++l) partial[l] += a[p + l] * b[p + l];
    }
  }
  float sum = 0.0f;
  for (; p < k; ++p) sum += a[p] * b[p * stride];
  for (int l = 0; l < kLanes; ++l) sum += partial[l];
  return sum;
}

void dot_products(const GemmArgs& g) {
  for (int64_t j = 0; j < g.n; ++j) {
    // Column j of op(B): contiguous when B is transposed, else every ldb-th float.
    const float* b = g.b_transposed ? g.b + j * g.ldb : g.b + j;
    const int64_t stride = g.b_transposed ? 1 : g.ldb;
    for (int64_t i = 0; i < g.m; ++i) g.c[i * g.ldc + j] = dot(g.a + i * g.lda, b, stride, g.k);
  }
}

}  // namespace

BuiltinBackend::BuiltinBackend(SimdLevel level) : level_(level), kernel_(kernels::portable::gemm_blocked) {
#if defined(__x86_64__) || defined(_M_X64)
  if (level == SimdLevel::Avx512f) kernel_ = kernels::avx512::gemm_blocked;
  if (level == SimdLevel::Avx2Fma) kernel_ = kernels::avx2::gemm_blocked;
#endif
}

void BuiltinBackend::sgemm(const GemmArgs& args) const {
  if (args.n <= kMaxDotColumns) {
    dot_products(args);
    return;
  }
  if (!args.b_transposed) {
    kernel_(args);
    return;
  }
  // The kernel reads B row by row; a transposed B (NHWC weights given per call) is turned here.
  // Layers pre-transpose at construction, so this runs only for one-off functional calls.
  std::vector<float> b_rows(static_cast<size_t>(args.k * args.n));
  for (int64_t j = 0; j < args.n; ++j)
    for (int64_t p = 0; p < args.k; ++p) b_rows[p * args.n + j] = args.b[j * args.ldb + p];
  GemmArgs g = args;
  g.b = b_rows.data();
  g.ldb = g.n;
  g.b_transposed = false;
  kernel_(g);
}

}  // namespace conv1x1

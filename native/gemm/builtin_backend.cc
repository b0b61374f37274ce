#include "builtin_backend.h"

#include <cstddef>
#include <vector>

#include "../kernels/gemm_blocked.h"

namespace conv1x1 {

BuiltinBackend::BuiltinBackend(SimdLevel level) : level_(level), kernel_(kernels::portable::gemm_blocked) {
#if defined(__x86_64__) || defined(_M_X64)
  if (level == SimdLevel::Avx512f) kernel_ = kernels::avx512::gemm_blocked;
  if (level == SimdLevel::Avx2Fma) kernel_ = kernels::avx2::gemm_blocked;
#endif
}

void BuiltinBackend::sgemm(const GemmArgs& args) const {
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

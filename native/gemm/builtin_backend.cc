#include "builtin_backend.h"

#include <vector>

#include "../kernels/gemm_blocked.h"
#include "../platform/parallel.h"

namespace conv1x1 {
namespace {

// Below ~2 M multiply-adds a second thread costs more to start than it saves.
constexpr int64_t kMinWorkPerThread = int64_t{1} << 21;

}  // namespace

BuiltinBackend::BuiltinBackend(SimdLevel level) : level_(level), kernel_(kernels::portable::gemm_blocked) {
#if defined(__x86_64__) || defined(_M_X64)
  if (level == SimdLevel::Avx512f) kernel_ = kernels::avx512::gemm_blocked;
  if (level == SimdLevel::Avx2Fma) kernel_ = kernels::avx2::gemm_blocked;
#endif
}

void BuiltinBackend::sgemm(const GemmArgs& args, int threads) const {
  GemmArgs g = args;
  // The kernel reads B row by row; a transposed B (NHWC weights given per call) is turned once here.
  // Layers pre-transpose at construction, so this runs only for one-off functional calls.
  std::vector<float> b_rows;
  if (g.b_transposed) {
    b_rows.resize(static_cast<size_t>(g.k * g.n));
    for (int64_t j = 0; j < g.n; ++j)
      for (int64_t p = 0; p < g.k; ++p) b_rows[p * g.n + j] = g.b[j * g.ldb + p];
    g.b = b_rows.data();
    g.ldb = g.n;
    g.b_transposed = false;
  }
  const int64_t work = g.m * g.n * g.k;
  int64_t parts = threads < 1 ? 1 : threads;
  if (work / parts < kMinWorkPerThread) parts = work / kMinWorkPerThread > 0 ? work / kMinWorkPerThread : 1;
  if (parts <= 1) {
    kernel_(g);
    return;
  }
  // Split the longer of M and N into whole tiles (6 rows or 64 columns), one range per thread.
  const bool split_columns = g.n >= g.m;
  const int64_t extent = split_columns ? g.n : g.m;
  const int64_t unit = split_columns ? 64 : 6;
  const int64_t units = (extent + unit - 1) / unit;
  if (parts > units) parts = units;
  const int64_t units_per_part = (units + parts - 1) / parts;
  parallel_for(parts, static_cast<int>(parts), [&](int64_t part) {
    const int64_t begin = part * units_per_part * unit;
    if (begin >= extent) return;
    const int64_t end = begin + units_per_part * unit < extent ? begin + units_per_part * unit : extent;
    GemmArgs piece = g;
    if (split_columns) {
      piece.n = end - begin;
      piece.b = g.b + begin;
      piece.c = g.c + begin;
    } else {
      piece.m = end - begin;
      piece.a = g.a + begin * g.lda;
      piece.c = g.c + begin * g.ldc;
    }
    kernel_(piece);
  });
}

}  // namespace conv1x1

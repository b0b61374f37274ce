// BlasBackend keeps every argument it passes to cblas_sgemm within a 32-bit int: run with a fake
// sgemm and an int limit of 7, sizes up to 30 must be split into legal calls whose results add up,
// and a leading dimension above the limit must go to the fallback backend instead.
#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "../gemm/blas_backend.h"
#include "../gemm/builtin_backend.h"
#include "check.h"
#include "compare.h"
#include "counting_backend.h"
#include "random_tensor.h"
#include "suites.h"

namespace conv1x1 {
namespace test {
namespace {

constexpr int kRowMajor = 101, kNoTrans = 111;  // the CBLAS enum values
constexpr int64_t kIntLimit = 7;

// What the fake saw; a plain function pointer cannot carry state, so it lives here.
struct FakeBlasLog {
  int calls = 0;
  int max_argument = 0;  // the largest of m, n, k, lda, ldb, ldc over all calls
  std::string first_illegal_call;
};

FakeBlasLog& fake_log() {
  static FakeBlasLog log;
  return log;
}

// cblas_sgemm, row-major only, computed naively; records its arguments and the first call that a
// real CBLAS would reject (it would print an error and return, or worse, read out of bounds).
void fake_sgemm(int order, int trans_a, int trans_b, int m, int n, int k, float alpha,
                const float* a, int lda, const float* b, int ldb, float beta, float* c, int ldc) {
  FakeBlasLog& log = fake_log();
  ++log.calls;
  log.max_argument = std::max({log.max_argument, m, n, k, lda, ldb, ldc});
  const bool a_plain = trans_a == kNoTrans, b_plain = trans_b == kNoTrans;
  const bool legal = order == kRowMajor && m >= 0 && n >= 0 && k >= 0 &&
                     lda >= std::max(1, a_plain ? k : m) && ldb >= std::max(1, b_plain ? n : k) &&
                     ldc >= std::max(1, n);
  if (!legal && log.first_illegal_call.empty()) {
    log.first_illegal_call = "order " + std::to_string(order) + " m " + std::to_string(m) +
                             " n " + std::to_string(n) + " k " + std::to_string(k) + " lda " +
                             std::to_string(lda) + " ldb " + std::to_string(ldb) + " ldc " +
                             std::to_string(ldc);
  }
  if (!legal) return;
  for (int i = 0; i < m; ++i) {
    for (int j = 0; j < n; ++j) {
      float sum = 0.0f;
      for (int p = 0; p < k; ++p) {
        sum += (a_plain ? a[i * lda + p] : a[p * lda + i]) * (b_plain ? b[p * ldb + j] : b[j * ldb + p]);
      }
      // β = 0 means C is not read: it may hold NaN.
      c[i * ldc + j] = alpha * sum + (beta == 0.0f ? 0.0f : beta * c[i * ldc + j]);
    }
  }
}

// C = A·op(B) in float64, with Σ|a·b| for the tolerance.
ReferenceOutput reference_gemm(const GemmArgs& g) {
  ReferenceOutput out;
  out.depth = g.k;
  out.value.resize(static_cast<size_t>(g.m * g.n));
  out.magnitude.resize(out.value.size());
  for (int64_t i = 0; i < g.m; ++i) {
    for (int64_t j = 0; j < g.n; ++j) {
      double sum = 0.0, magnitude = 0.0;
      for (int64_t p = 0; p < g.k; ++p) {
        const double product = static_cast<double>(g.a[i * g.lda + p]) *
                               (g.b_transposed ? g.b[j * g.ldb + p] : g.b[p * g.ldb + j]);
        sum += product;
        magnitude += std::fabs(product);
      }
      out.value[static_cast<size_t>(i * g.n + j)] = sum;
      out.magnitude[static_cast<size_t>(i * g.n + j)] = magnitude;
    }
  }
  return out;
}

std::string describe(const GemmArgs& g) {
  return "m " + std::to_string(g.m) + " n " + std::to_string(g.n) + " k " + std::to_string(g.k) +
         " lda " + std::to_string(g.lda) + " ldb " + std::to_string(g.ldb) + " ldc " +
         std::to_string(g.ldc) + (g.b_transposed ? " B transposed" : "");
}

void run_split_case(const BlasBackend& blas, CountingBackend& fallback, GemmArgs g,
                    std::mt19937& rng) {
  const std::string what = describe(g);
  const std::vector<float> a = random_floats(g.m * g.lda, 1.0f, rng);
  const std::vector<float> b = random_floats((g.b_transposed ? g.n : g.k) * g.ldb, 1.0f, rng);
  // C's padding columns hold a sentinel: nothing may be written outside the m×n block.
  const float sentinel = 12345.0f;
  std::vector<float> c(static_cast<size_t>(g.m * g.ldc), sentinel);
  for (int64_t i = 0; i < g.m; ++i) std::fill_n(c.begin() + i * g.ldc, g.n, std::nanf(""));
  g.a = a.data();
  g.b = b.data();
  g.c = c.data();

  fake_log() = FakeBlasLog();
  fallback.reset();
  blas.sgemm(g);

  const FakeBlasLog& log = fake_log();
  const bool fits = g.lda <= kIntLimit && g.ldb <= kIntLimit && g.ldc <= kIntLimit;
  if (fits) {
    const int64_t pieces = ((g.m + kIntLimit - 1) / kIntLimit) * ((g.n + kIntLimit - 1) / kIntLimit) *
                           ((g.k + kIntLimit - 1) / kIntLimit);
    check(log.calls == pieces && fallback.calls() == 0,
          what + ": " + std::to_string(log.calls) + " BLAS calls and " +
              std::to_string(fallback.calls()) + " fallback calls, expected " +
              std::to_string(pieces) + " and 0");
  } else {
    check(log.calls == 0 && fallback.calls() == 1,
          what + ": a leading dimension above the limit made " + std::to_string(log.calls) +
              " BLAS calls and " + std::to_string(fallback.calls()) + " fallback calls");
  }
  check(log.max_argument <= kIntLimit,
        what + ": BLAS saw an argument of " + std::to_string(log.max_argument));
  check(log.first_illegal_call.empty(), what + ": illegal BLAS call " + log.first_illegal_call);

  std::vector<float> block(static_cast<size_t>(g.m * g.n));
  bool padding_intact = true;
  for (int64_t i = 0; i < g.m; ++i) {
    std::copy_n(c.begin() + i * g.ldc, g.n, block.begin() + i * g.n);
    for (int64_t j = g.n; j < g.ldc; ++j) padding_intact &= c[i * g.ldc + j] == sentinel;
  }
  const Comparison comparison = compare_to_reference(block, reference_gemm(g));
  check(comparison.ok, what + ": " + comparison.first_mismatch);
  check(padding_intact, what + ": wrote into C's padding columns");
}

}  // namespace

void run_blas_splitting_tests() {
  const BuiltinBackend builtin(SimdLevel::Sse2);
  CountingBackend fallback(builtin);
  const BlasBackend blas(fake_sgemm, &fallback, kIntLimit);
  std::mt19937 rng(11);
  const int64_t sizes[] = {1, 2, 6, 7, 8, 13, 14, 15, 29, 30};
  for (int64_t m : sizes) {
    for (int64_t n : sizes) {
      for (int64_t k : sizes) {
        for (bool transposed : {false, true}) {
          // Leading dimensions at their minimum, all above it, and each one alone far above it (so
          // that it alone crosses the limit).
          const int64_t extras[][3] = {{0, 0, 0}, {1, 1, 1}, {4, 0, 0}, {0, 4, 0}, {0, 0, 4}};
          for (const auto& extra : extras) {
            GemmArgs g;
            g.m = m;
            g.n = n;
            g.k = k;
            g.b_transposed = transposed;
            g.lda = k + extra[0];
            g.ldb = (transposed ? k : n) + extra[1];
            g.ldc = n + extra[2];
            run_split_case(blas, fallback, g, rng);
          }
        }
      }
    }
  }
}

}  // namespace test
}  // namespace conv1x1

// Pointwise kernels for AVX2 + FMA: pixel tiles 6 × 16 and channel tiles up to 6 × 16 (12
// accumulators each, of the 16 ymm registers). Built with -mavx2 -mfma; called only when the CPU and
// OS report both.
#include <immintrin.h>
#include <stdlib.h>

namespace conv1x1 {
namespace kernels {
namespace avx2 {
namespace {

struct Vec {
  using Reg = __m256;
  static constexpr int kLanes = 8;
  static __m256i mask(int n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  }
  static Reg zero() { return _mm256_setzero_ps(); }
  static Reg load(const float* p) { return _mm256_loadu_ps(p); }
  static Reg load_partial(const float* p, int n) { return _mm256_maskload_ps(p, mask(n)); }
  static void store(float* p, Reg v) { _mm256_storeu_ps(p, v); }
  static void store_partial(float* p, Reg v, int n) { _mm256_maskstore_ps(p, mask(n), v); }
  static Reg set1(float v) { return _mm256_set1_ps(v); }
  static Reg broadcast(const float* p) { return _mm256_broadcast_ss(p); }
  static Reg fma(Reg a, Reg b, Reg c) { return _mm256_fmadd_ps(a, b, c); }
  static Reg add(Reg a, Reg b) { return _mm256_add_ps(a, b); }
  static Reg mul(Reg a, Reg b) { return _mm256_mul_ps(a, b); }
  // MAXPS/MINPS return the second operand when either is NaN: x, so NaN passes through.
  static Reg max(Reg c, Reg x) { return _mm256_max_ps(c, x); }
  static Reg min(Reg c, Reg x) { return _mm256_min_ps(c, x); }
  static Reg select_negative(Reg x, Reg v) {
    return _mm256_blendv_ps(x, v, _mm256_cmp_ps(x, zero(), _CMP_LT_OQ));
  }
  static Reg even_lanes(Reg a, Reg b) {
    // Per 128-bit half: a0 a2 b0 b2 | a4 a6 b4 b6; then the 64-bit pairs in order 0, 2, 1, 3.
    const Reg pairs = _mm256_shuffle_ps(a, b, _MM_SHUFFLE(2, 0, 2, 0));
    return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(pairs), _MM_SHUFFLE(3, 1, 2, 0)));
  }
  // r[i] becomes column i of the 8 × 8 block whose rows were r[0..7]: 24 shuffles.
  static void transpose(Reg (&r)[kLanes]) {
    Reg t[8], u[8];
    for (int i = 0; i < 8; i += 2) {
      t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
      t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
    }
    for (int i = 0; i < 8; i += 4) {
      u[i] = _mm256_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(1, 0, 1, 0));
      u[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(3, 2, 3, 2));
      u[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(1, 0, 1, 0));
      u[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(3, 2, 3, 2));
    }
    for (int b = 0; b < 4; ++b) {
      r[b] = _mm256_permute2f128_ps(u[b], u[4 + b], 0x20);
      r[4 + b] = _mm256_permute2f128_ps(u[b], u[4 + b], 0x31);
    }
  }
};

constexpr const char* kIsaName = "avx2+fma";
constexpr const char* kPixelKernelName = "f32_pointwise_6x16__avx2";
constexpr const char* kChannelKernelName = "f32_pointwise_6x16t__avx2";
constexpr int kPixelRows = 6;
constexpr int kPixelVectors = 2;
constexpr int kChannelVectors = 2;
constexpr int kChannelPixels = 6;

}  // namespace
}  // namespace avx2
}  // namespace kernels
}  // namespace conv1x1

#define CONV1X1_KERNEL_ISA avx2
#include "pointwise_impl.h"

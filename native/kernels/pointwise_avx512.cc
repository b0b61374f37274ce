// Pointwise kernels for AVX-512F: pixel tiles 8 × 48 (24 accumulators), channel tiles up to 14 × 32
// (28 accumulators), of the 32 zmm registers. Built with -mavx512f; called only when the CPU and OS
// report AVX-512F.
// GCC 12 reports -Wmaybe-uninitialized (at -O1, -Wuninitialized) inside its own AVX-512 intrinsics
// (max, min and the lane shuffles start from _mm512_undefined_ps(), a value left undefined on
// purpose): hundreds of false warnings on every build from source. The kernels' shared code keeps
// both warnings in the other instruction sets' files.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
#include <immintrin.h>
#include <stdlib.h>

namespace conv1x1 {
namespace kernels {
namespace avx512 {
namespace {

struct Vec {
  using Reg = __m512;
  static constexpr int kLanes = 16;
  static __mmask16 mask(int n) { return static_cast<__mmask16>((1u << n) - 1u); }
  static Reg zero() { return _mm512_setzero_ps(); }
  static Reg load(const float* p) { return _mm512_loadu_ps(p); }
  static Reg load_partial(const float* p, int n) { return _mm512_maskz_loadu_ps(mask(n), p); }
  static void store(float* p, Reg v) { _mm512_storeu_ps(p, v); }
  static void store_partial(float* p, Reg v, int n) { _mm512_mask_storeu_ps(p, mask(n), v); }
  static Reg set1(float v) { return _mm512_set1_ps(v); }
  static Reg broadcast(const float* p) { return _mm512_set1_ps(*p); }
  static Reg fma(Reg a, Reg b, Reg c) { return _mm512_fmadd_ps(a, b, c); }
  static Reg add(Reg a, Reg b) { return _mm512_add_ps(a, b); }
  static Reg mul(Reg a, Reg b) { return _mm512_mul_ps(a, b); }
  // MAXPS/MINPS return the second operand when either is NaN: x, so NaN passes through.
  static Reg max(Reg c, Reg x) { return _mm512_max_ps(c, x); }
  static Reg min(Reg c, Reg x) { return _mm512_min_ps(c, x); }
  static Reg select_negative(Reg x, Reg v) {
    return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, zero(), _CMP_LT_OQ), x, v);
  }
  static Reg even_lanes(Reg a, Reg b) {
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    return _mm512_permutex2var_ps(a, even, b);
  }
  // r[i] becomes column i of the 16 × 16 block whose rows were r[0..15]: 64 shuffles.
  static void transpose(Reg (&r)[kLanes]) {
    Reg t[16], u[16];
    for (int i = 0; i < 16; i += 2) {
      t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
      t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
    }
    for (int i = 0; i < 16; i += 4) {
      u[i] = _mm512_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(1, 0, 1, 0));
      u[i + 1] = _mm512_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(3, 2, 3, 2));
      u[i + 2] = _mm512_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(1, 0, 1, 0));
      u[i + 3] = _mm512_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(3, 2, 3, 2));
    }
    // u[4a + b] holds, in its 128-bit lane L, column 4L + b of rows 4a … 4a + 3.
    for (int b = 0; b < 4; ++b) {
      t[b] = _mm512_shuffle_f32x4(u[b], u[4 + b], 0x88);
      t[4 + b] = _mm512_shuffle_f32x4(u[b], u[4 + b], 0xDD);
      t[8 + b] = _mm512_shuffle_f32x4(u[8 + b], u[12 + b], 0x88);
      t[12 + b] = _mm512_shuffle_f32x4(u[8 + b], u[12 + b], 0xDD);
    }
    for (int b = 0; b < 8; ++b) {
      r[b] = _mm512_shuffle_f32x4(t[b], t[8 + b], 0x88);
      r[8 + b] = _mm512_shuffle_f32x4(t[b], t[8 + b], 0xDD);
    }
  }
};

constexpr const char* kIsaName = "avx512f";
constexpr const char* kPixelKernelName = "f32_pointwise_8x48__avx512f";
constexpr const char* kChannelKernelName = "f32_pointwise_14x32t__avx512f";
constexpr int kPixelRows = 8;
constexpr int kPixelVectors = 3;
constexpr int kChannelVectors = 2;
constexpr int kChannelPixels = 14;

}  // namespace
}  // namespace avx512
}  // namespace kernels
}  // namespace conv1x1

#define CONV1X1_KERNEL_ISA avx512
#include "pointwise_impl.h"

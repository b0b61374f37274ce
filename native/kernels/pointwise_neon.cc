// Pointwise kernels for arm64 NEON (always present on AArch64): pixel tiles 8 × 12 and channel tiles
// up to 6 × 16 (24 accumulators each, of the 32 q registers).
#include <arm_neon.h>

namespace conv1x1 {
namespace kernels {
namespace neon {
namespace {

struct Vec {
  using Reg = float32x4_t;
  static constexpr int kLanes = 4;
  static Reg zero() { return vdupq_n_f32(0.0f); }
  static Reg load(const float* p) { return vld1q_f32(p); }
  static Reg load_partial(const float* p, int n) {
    float lanes[4] = {0.0f, 0.0f, 0.0f, 0.0f};
    for (int i = 0; i < n; ++i) lanes[i] = p[i];
    return vld1q_f32(lanes);
  }
  static void store(float* p, Reg v) { vst1q_f32(p, v); }
  static void store_partial(float* p, Reg v, int n) {
    float lanes[4];
    vst1q_f32(lanes, v);
    for (int i = 0; i < n; ++i) p[i] = lanes[i];
  }
  static Reg set1(float v) { return vdupq_n_f32(v); }
  static Reg broadcast(const float* p) { return vld1q_dup_f32(p); }
  static Reg fma(Reg a, Reg b, Reg c) { return vfmaq_f32(c, a, b); }
  static Reg add(Reg a, Reg b) { return vaddq_f32(a, b); }
  static Reg mul(Reg a, Reg b) { return vmulq_f32(a, b); }
  // FMAX/FMIN return NaN when either operand is NaN, so NaN passes through.
  static Reg max(Reg c, Reg x) { return vmaxq_f32(c, x); }
  static Reg min(Reg c, Reg x) { return vminq_f32(c, x); }
  static Reg select_negative(Reg x, Reg v) { return vbslq_f32(vcltq_f32(x, zero()), v, x); }
  static Reg even_lanes(Reg a, Reg b) { return vuzp1q_f32(a, b); }
  // r[i] becomes column i of the 4 × 4 block whose rows were r[0..3].
  static void transpose(Reg (&r)[kLanes]) {
    const float32x4x2_t a = vtrnq_f32(r[0], r[1]);  // r0[0] r1[0] r0[2] r1[2] | r0[1] r1[1] r0[3] r1[3]
    const float32x4x2_t b = vtrnq_f32(r[2], r[3]);
    r[0] = vcombine_f32(vget_low_f32(a.val[0]), vget_low_f32(b.val[0]));
    r[1] = vcombine_f32(vget_low_f32(a.val[1]), vget_low_f32(b.val[1]));
    r[2] = vcombine_f32(vget_high_f32(a.val[0]), vget_high_f32(b.val[0]));
    r[3] = vcombine_f32(vget_high_f32(a.val[1]), vget_high_f32(b.val[1]));
  }
};

constexpr const char* kIsaName = "neon";
constexpr const char* kPixelKernelName = "f32_pointwise_8x12__neon";
constexpr const char* kChannelKernelName = "f32_pointwise_6x16t__neon";
constexpr int kPixelRows = 8;
constexpr int kPixelVectors = 3;
constexpr int kChannelVectors = 4;
constexpr int kChannelPixels = 6;

}  // namespace
}  // namespace neon
}  // namespace kernels
}  // namespace conv1x1

#define CONV1X1_KERNEL_ISA neon
#include "pointwise_impl.h"

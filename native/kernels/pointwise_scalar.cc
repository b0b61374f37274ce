// Pointwise kernels in portable C++: a "vector" of four floats in plain arithmetic, which compilers
// map onto SSE2 on x86-64 (the baseline every x86-64 CPU has) and onto whatever the target offers
// elsewhere. Pixel tiles 4 × 8 and channel tiles up to 4 × 8 (8 four-float accumulators each).
namespace conv1x1 {
namespace kernels {
namespace scalar {
namespace {

struct Vec {
  struct Reg {
    float v[4];
  };
  static constexpr int kLanes = 4;
  static Reg zero() { return Reg{{0.0f, 0.0f, 0.0f, 0.0f}}; }
  static Reg load(const float* p) { return Reg{{p[0], p[1], p[2], p[3]}}; }
  static Reg load_partial(const float* p, int n) {
    Reg r = zero();
    for (int i = 0; i < n; ++i) r.v[i] = p[i];
    return r;
  }
  static void store(float* p, Reg r) {
    for (int i = 0; i < 4; ++i) p[i] = r.v[i];
  }
  static void store_partial(float* p, Reg r, int n) {
    for (int i = 0; i < n; ++i) p[i] = r.v[i];
  }
  static Reg set1(float x) { return Reg{{x, x, x, x}}; }
  static Reg broadcast(const float* p) { return set1(*p); }
  // a·b + c rounded twice, as the portable build has no fused multiply-add to rely on.
  static Reg fma(Reg a, Reg b, Reg c) {
    for (int i = 0; i < 4; ++i) c.v[i] += a.v[i] * b.v[i];
    return c;
  }
  static Reg add(Reg a, Reg b) {
    for (int i = 0; i < 4; ++i) a.v[i] += b.v[i];
    return a;
  }
  static Reg mul(Reg a, Reg b) {
    for (int i = 0; i < 4; ++i) a.v[i] *= b.v[i];
    return a;
  }
  // Written so that a NaN x falls through the comparison unchanged.
  static Reg max(Reg c, Reg x) {
    for (int i = 0; i < 4; ++i) x.v[i] = x.v[i] < c.v[i] ? c.v[i] : x.v[i];
    return x;
  }
  static Reg min(Reg c, Reg x) {
    for (int i = 0; i < 4; ++i) x.v[i] = x.v[i] > c.v[i] ? c.v[i] : x.v[i];
    return x;
  }
  static Reg select_negative(Reg x, Reg v) {
    for (int i = 0; i < 4; ++i) x.v[i] = x.v[i] < 0.0f ? v.v[i] : x.v[i];
    return x;
  }
  static Reg even_lanes(Reg a, Reg b) { return Reg{{a.v[0], a.v[2], b.v[0], b.v[2]}}; }
  // r[i] becomes column i of the 4 × 4 block whose rows were r[0..3].
  static void transpose(Reg (&r)[kLanes]) {
    for (int i = 0; i < 4; ++i)
      for (int j = i + 1; j < 4; ++j) {
        const float kept = r[i].v[j];
        r[i].v[j] = r[j].v[i];
        r[j].v[i] = kept;
      }
  }
};

constexpr const char* kIsaName = "scalar";
constexpr const char* kPixelKernelName = "f32_pointwise_4x8__scalar";
constexpr const char* kChannelKernelName = "f32_pointwise_4x8t__scalar";
constexpr int kPixelRows = 4;
constexpr int kPixelVectors = 2;
constexpr int kChannelVectors = 2;
constexpr int kChannelPixels = 4;

}  // namespace
}  // namespace scalar
}  // namespace kernels
}  // namespace conv1x1

#if defined(CONV1X1_CHECK_CONTRACTS)
namespace conv1x1 {
namespace kernels {
bool deny_kernel_allocations = false;
}  // namespace kernels
}  // namespace conv1x1
#endif

#define CONV1X1_KERNEL_ISA scalar
#include "pointwise_impl.h"

#include "cpu_features.h"

#include <stdint.h>

#if defined(__x86_64__) || defined(_M_X64)
#if defined(_MSC_VER)
#include <intrin.h>
#else
#include <cpuid.h>
#endif
#if defined(__APPLE__)
#include <sys/sysctl.h>
#endif
#endif

namespace conv1x1 {

#if defined(__x86_64__) || defined(_M_X64)
namespace {

void cpuid(uint32_t leaf, uint32_t subleaf, uint32_t regs[4]) {
#if defined(_MSC_VER)
  int r[4];
  __cpuidex(r, static_cast<int>(leaf), static_cast<int>(subleaf));
  for (int i = 0; i < 4; ++i) regs[i] = static_cast<uint32_t>(r[i]);
#else
  __cpuid_count(leaf, subleaf, regs[0], regs[1], regs[2], regs[3]);
#endif
}

// XCR0 says which register states the OS saves on a context switch; without it, AVX is unusable.
uint64_t read_xcr0() {
#if defined(_MSC_VER)
  return _xgetbv(0);
#else
  uint32_t lo, hi;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (static_cast<uint64_t>(hi) << 32) | lo;
#endif
}

// macOS turns a thread's AVX-512 register state on at its first AVX-512 instruction, so XCR0 does
// not show it beforehand; the kernel says instead whether it supports AVX-512.
bool os_enables_avx512_on_first_use() {
#if defined(__APPLE__)
  int supported = 0;
  size_t size = sizeof(supported);
  return sysctlbyname("hw.optional.avx512f", &supported, &size, nullptr, 0) == 0 && supported != 0;
#else
  return false;
#endif
}

}  // namespace

SimdLevel detect_simd_level() {
  uint32_t r[4];
  cpuid(0, 0, r);
  const uint32_t max_leaf = r[0];
  cpuid(1, 0, r);
  const bool osxsave = (r[2] >> 27) & 1;
  const bool avx = (r[2] >> 28) & 1;
  const bool fma = (r[2] >> 12) & 1;
  if (!osxsave || !avx || max_leaf < 7) return SimdLevel::Sse2;
  const uint64_t xcr0 = read_xcr0();
  const bool os_ymm = (xcr0 & 0x6) == 0x6;           // XMM and YMM state
  const bool os_zmm = (xcr0 & 0xe6) == 0xe6 ||       // plus opmask and ZMM state
                      (os_ymm && os_enables_avx512_on_first_use());
  cpuid(7, 0, r);
  const bool avx2 = (r[1] >> 5) & 1;
  const bool avx512f = (r[1] >> 16) & 1;
  if (avx512f && avx2 && fma && os_zmm) return SimdLevel::Avx512f;
  if (avx2 && fma && os_ymm) return SimdLevel::Avx2Fma;
  return SimdLevel::Sse2;
}
#elif defined(__aarch64__) || defined(_M_ARM64)
SimdLevel detect_simd_level() { return SimdLevel::Neon; }
#else
SimdLevel detect_simd_level() { return SimdLevel::Scalar; }
#endif

const char* simd_level_name(SimdLevel level) {
  switch (level) {
    case SimdLevel::Avx512f: return "avx512f";
    case SimdLevel::Avx2Fma: return "avx2+fma";
    case SimdLevel::Sse2: return "sse2";
    case SimdLevel::Neon: return "neon";
    case SimdLevel::Scalar: break;
  }
  return "scalar";
}

}  // namespace conv1x1

#pragma once
// What vector instructions the CPU *and* the OS support (CPUID plus XCR0 on x86-64), read once.

namespace conv1x1 {

enum class SimdLevel { Scalar, Sse2, Avx2Fma, Avx512f, Neon };

SimdLevel detect_simd_level();
const char* simd_level_name(SimdLevel level);

}  // namespace conv1x1

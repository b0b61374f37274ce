#include "pointwise_selection.h"

#include <cstdlib>

namespace conv1x1 {
namespace {

int rank(SimdLevel level) {
  switch (level) {
    case SimdLevel::Avx512f: return 3;
    case SimdLevel::Avx2Fma: return 2;
    case SimdLevel::Neon: return 2;
    case SimdLevel::Sse2: return 1;
    case SimdLevel::Scalar: break;
  }
  return 0;
}

}  // namespace

IsaChoice choose_isa(SimdLevel detected) {
  IsaChoice choice;
  choice.level = detected;
  const char* text = std::getenv("CONV1X1_ISA");
  if (!text || !*text) return choice;
  const std::string wanted = text;
  SimdLevel level;
  if (wanted == "avx512" || wanted == "avx512f") {
    level = SimdLevel::Avx512f;
  } else if (wanted == "avx2" || wanted == "avx2+fma") {
    level = SimdLevel::Avx2Fma;
  } else if (wanted == "neon") {
    level = SimdLevel::Neon;
  } else if (wanted == "scalar" || wanted == "sse2") {
    // x86-64's baseline is SSE2: the portable kernels compiled for it.
    level = detected == SimdLevel::Scalar ? SimdLevel::Scalar : SimdLevel::Sse2;
    if (detected == SimdLevel::Neon) level = SimdLevel::Scalar;
  } else {
    choice.note = "CONV1X1_ISA=" + wanted + " is not one of avx512, avx2, neon, scalar: ignored";
    return choice;
  }
  const bool same_family = (level == SimdLevel::Neon) == (detected == SimdLevel::Neon) ||
                           level == SimdLevel::Scalar;
  if (!same_family || rank(level) > rank(detected)) {
    choice.note = "CONV1X1_ISA=" + wanted + " is beyond what this CPU supports (" +
                  simd_level_name(detected) + "): ignored";
    return choice;
  }
  choice.level = level;
  if (level != detected) choice.note = "CONV1X1_ISA=" + wanted;
  return choice;
}

const kernels::PointwiseKernels& pointwise_kernels_for(SimdLevel level) {
#if defined(__x86_64__) || defined(_M_X64)
  if (level == SimdLevel::Avx512f) return kernels::avx512::pointwise_kernels();
  if (level == SimdLevel::Avx2Fma) return kernels::avx2::pointwise_kernels();
#endif
#if defined(__aarch64__) || defined(_M_ARM64)
  if (level == SimdLevel::Neon) return kernels::neon::pointwise_kernels();
#endif
  return kernels::scalar::pointwise_kernels();
}

}  // namespace conv1x1

#pragma once
// Which builtin kernels this process runs: the best instruction set the CPU and OS support, or a
// lower one forced with CONV1X1_ISA=avx512|avx2|scalar (so that every path can be tested on one
// machine). A level the CPU lacks is never used, whatever the variable says.
#include <string>

#include "../kernels/pointwise.h"
#include "../platform/cpu_features.h"

namespace conv1x1 {

struct IsaChoice {
  SimdLevel level = SimdLevel::Scalar;
  std::string note;  // why the level is not the CPU's best (CONV1X1_ISA), empty otherwise
};

// Reads CONV1X1_ISA; an unknown value is reported in the note and ignored.
IsaChoice choose_isa(SimdLevel detected);

const kernels::PointwiseKernels& pointwise_kernels_for(SimdLevel level);

}  // namespace conv1x1

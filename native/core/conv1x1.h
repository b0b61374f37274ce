#pragma once
// Plan + run: a 1×1 convolution over plain pointers. NCHW runs one GEMM per image and group,
// Y[Cout/g × OH·OW] = W_g · X[Cin/g × OH·OW]; NHWC runs one GEMM per group for the whole batch,
// Y[N·OH·OW × Cout] = X[N·OH·OW × Cin] · W_gᵀ, through leading dimensions without copies. Strided or
// padded convolutions first gather the pixels that see the input into a scratch panel; the others
// (the padding border) get bias and activation only, as torch.nn.functional.conv2d gives them.
#include <cstdint>
#include <vector>

#include "../gemm/gemm.h"
#include "epilogue.h"
#include "packed_weights.h"
#include "plan.h"

namespace conv1x1 {

struct ConvTensors {
  const float* input = nullptr;   // plan.input_elements
  const float* weight = nullptr;  // plan.weight_elements, [Cout][Cin/g], or see weight_pretransposed
  // NHWC only: weight holds, per group, W_gᵀ as [Cin/g][Cout/g] (see pretranspose_weights), so that the
  // GEMM reads B without a transpose on any backend.
  bool weight_pretransposed = false;
  const float* bias = nullptr;  // Cout floats, or null
  float* output = nullptr;      // plan.output_elements; must not overlap the others
  // When set, the builtin pointwise kernels run the product from these panels (weight and bias are
  // then not read, and the GEMM backend is not called).
  const PackedWeights* packed = nullptr;
};

void run_conv(const ConvPlan& plan, const ConvTensors& tensors, const GemmBackend& gemm,
              int threads);

// The weights in the layout run_conv reads fastest for this plan, prepared once (NHWC: W_gᵀ per group).
// Returns an empty vector when the original layout is already the best one.
std::vector<float> pretranspose_weights(const ConvPlan& plan, const float* weight);

}  // namespace conv1x1

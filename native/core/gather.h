#pragma once
// Strided or padded convolutions: copy the input pixels that some output sees into a dense panel, and
// put the GEMM's result back into the full output with the padding border set to zero (the epilogue
// then makes the border act(bias)).
#include "plan.h"

namespace conv1x1 {

// NCHW, one image: panel[Cin][inner pixels].
void gather_nchw(const ConvPlan& plan, const float* image, float* panel);
// panel[Cout][inner pixels] -> image[Cout][OH·OW].
void scatter_nchw(const ConvPlan& plan, const float* panel, float* image);
// NHWC, whole batch: panel[N·inner pixels][Cin].
void gather_nhwc(const ConvPlan& plan, const float* input, float* panel);
// panel[N·inner pixels][Cout] -> output[N·OH·OW][Cout].
void scatter_nhwc(const ConvPlan& plan, const float* panel, float* output);

}  // namespace conv1x1

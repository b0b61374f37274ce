#pragma once
// Strided or padded convolutions: copy the input pixels that some output sees into a dense panel, and
// put the GEMM's result back into the full output with the padding border set to zero (the epilogue
// then makes the border act(bias)).
#include "plan.h"

namespace conv1x1 {

// Whole batch, on up to `threads` threads. NCHW: panel[N][Cin][inner pixels]; NHWC:
// panel[N·inner pixels][Cin].
void gather(const ConvPlan& plan, const float* input, float* panel, int threads);
// Whole batch, the other way: NCHW panel[N][Cout][inner] or NHWC panel[N·inner][Cout] into the
// full output, whose other pixels (the border) become zero.
void scatter(const ConvPlan& plan, const float* panel, float* output);

}  // namespace conv1x1

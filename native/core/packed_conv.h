#pragma once
// The product part of a 1×1 convolution on the builtin pointwise kernels and packed weights: blocks of
// (image, group, output-channel panels, pixels) spread over the threads, bias and activation applied
// by the kernels as they store.
#include <cstdint>

#include "epilogue.h"
#include "packed_weights.h"
#include "plan.h"

namespace conv1x1 {

// source/destination as run_conv lays them out: NCHW [N][Cin][extent] → [N][Cout][extent] (extent =
// pixels per image); NHWC [extent][Cin] → [extent][Cout] (extent = pixels of the whole batch).
// epilogue null: the bare product, without bias or activation.
void run_packed(const ConvPlan& plan, const PackedWeights& packed, const float* source,
                float* destination, int64_t extent, const Epilogue* epilogue, int threads);

// Whether run_strided_packed can run this plan with these weights: NCHW, strided without padding,
// channel tiles.
bool reads_strided_input(const ConvPlan& plan, const PackedWeights& packed);
// A strided convolution without padding on channel tiles, which copy the pixels they read from the
// input itself (no gathered panel): input NCHW [N][Cin][H·W] → output [N][Cout][out pixels].
void run_strided_packed(const ConvPlan& plan, const PackedWeights& packed, const float* input,
                        float* output, const Epilogue* epilogue, int threads);

}  // namespace conv1x1

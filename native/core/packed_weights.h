#pragma once
// Weights (and bias) packed once into the panel layout of the pointwise kernels (see
// kernels/pointwise.h), per group, for one tile shape. A layer packs at construction, or on the first
// call that needs the other tile shape; a one-off functional call packs for itself.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "../kernels/pointwise.h"
#include "plan.h"

namespace conv1x1 {

enum class TileShape { Pixels, Channels };

struct PackedWeights {
  const kernels::PointwiseKernels* kernels = nullptr;
  TileShape shape = TileShape::Pixels;
  int64_t width = 0;            // channels per panel
  int64_t k = 0;                // Cin / groups
  int64_t group_channels = 0;   // Cout / groups
  int64_t group_panels = 0;     // panels per group
  // groups × group_panels × (k + 1) · width floats from data(), which is 64-byte aligned: a panel row
  // is whole cache lines, and no vector load straddles two of them.
  std::vector<float> storage;
  size_t offset = 0;

  int64_t panel_floats() const { return (k + 1) * width; }
  const float* data() const { return storage.data() + offset; }
  float* data() { return storage.data() + offset; }
  const float* panel(int64_t group, int64_t index) const {
    return data() + (group * group_panels + index) * panel_floats();
  }
};

// Which tile shape runs this plan fastest: vectors along the output channels for NHWC; for NCHW,
// the shape that keeps more vector lanes busy (few pixels, as 7×7 and 14×14, leave a pixel tile's
// lanes empty; few channels per group, a channel tile's).
TileShape choose_tile_shape(const ConvPlan& plan, const kernels::PointwiseKernels& kernels);

// weight is [Cout][Cin/g], or with pretransposed W_gᵀ per group ([Cin/g][Cout/g]); bias may be null.
// The layer's parameters are all it needs of the plan (any input size gives the same packing).
PackedWeights pack_weights(const ConvPlan& plan, const float* weight, bool pretransposed,
                           const float* bias, const kernels::PointwiseKernels& kernels,
                           TileShape shape);

}  // namespace conv1x1

#include "packed_weights.h"

#include <algorithm>
#include <new>
#include <string>

#include "error.h"

namespace conv1x1 {
namespace {

// The fraction of vector lanes a tiling keeps busy along an extent: extent / (whole tiles × tile).
double lane_use(int64_t extent, int64_t tile) {
  const int64_t tiles = (extent + tile - 1) / tile;
  return tiles == 0 ? 1.0 : static_cast<double>(extent) / static_cast<double>(tiles * tile);
}

// Channel tiles on NCHW write their results transposed, one float at a time: measured on ResNet-50's
// 28×28 layers (bench/shapes.mjs, AVX-512), that costs them about a tenth against pixel tiles that
// fill their lanes as well.
constexpr double kTransposedStoreCost = 1.1;
// What gathering a strided convolution's input costs pixel tiles, which channel tiles avoid by copying
// from the input as they go: ResNet-50's stride-2 downsample 56² 256→512 spent about a sixth of its
// time in the gather (AVX-512, 1 thread).
constexpr double kGatherCost = 1.15;

}  // namespace

TileShape choose_tile_shape(const ConvPlan& plan, const kernels::PointwiseKernels& kernels) {
  if (plan.params.layout == Layout::NHWC) return TileShape::Channels;
  const int64_t channels = plan.out_channels_per_group, pixels = plan.inner_pixels();
  const double channel_tiles = lane_use(channels, kernels.channel_panel_width);
  const double pixel_tiles =
      lane_use(pixels, kernels.pixel_tile_width) * lane_use(channels, kernels.pixel_panel_width);
  // Strided without padding, channel tiles read the input where it is; pixel tiles need it gathered.
  const double gather_saved = plan.strided_without_border() ? kGatherCost : 1.0;
  return channel_tiles * gather_saved > pixel_tiles * kTransposedStoreCost ? TileShape::Channels
                                                                          : TileShape::Pixels;
}

PackedWeights pack_weights(const ConvPlan& plan, const float* weight, bool pretransposed,
                           const float* bias, const kernels::PointwiseKernels& kernels,
                           TileShape shape) {
  const ConvParams& p = plan.params;
  PackedWeights packed;
  packed.kernels = &kernels;
  packed.shape = shape;
  packed.width = shape == TileShape::Pixels ? kernels.pixel_panel_width : kernels.channel_panel_width;
  packed.k = plan.in_channels_per_group;
  packed.group_channels = plan.out_channels_per_group;
  packed.group_panels = (packed.group_channels + packed.width - 1) / packed.width;
  // The weights already passed the plan's size checks; panels add at most width − 1 channels per group
  // and one bias row per panel, far from overflow.
  const int64_t floats = p.groups * packed.group_panels * packed.panel_floats();
  constexpr size_t kAlignFloats = 64 / sizeof(float);
  try {
    packed.storage.assign(static_cast<size_t>(floats) + kAlignFloats, 0.0f);
  } catch (const std::bad_alloc&) {
    throw Error(ErrorCode::OutOfMemory,
                "could not allocate " + std::to_string(floats * 4) + " bytes for the packed weights");
  }
  const uintptr_t address = reinterpret_cast<uintptr_t>(packed.storage.data());
  packed.offset = ((64 - address % 64) % 64) / sizeof(float);
  const int64_t cin_g = packed.k, cout_g = packed.group_channels, width = packed.width;
  for (int64_t g = 0; g < p.groups; ++g) {
    const float* w = weight + g * cout_g * cin_g;
    for (int64_t panel = 0; panel < packed.group_panels; ++panel) {
      float* out = packed.data() + (g * packed.group_panels + panel) * packed.panel_floats();
      const int64_t first = panel * width;
      const int64_t count = std::min<int64_t>(width, cout_g - first);
      for (int64_t i = 0; i < cin_g; ++i) {
        for (int64_t c = 0; c < count; ++c) {
          const int64_t o = first + c;
          out[i * width + c] = pretransposed ? w[i * cout_g + o] : w[o * cin_g + i];
        }
      }
      if (bias) {
        for (int64_t c = 0; c < count; ++c) out[cin_g * width + c] = bias[g * cout_g + first + c];
      }
    }
  }
  return packed;
}

}  // namespace conv1x1

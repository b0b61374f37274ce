#include "packed_conv.h"

#include <algorithm>
#include <vector>

#include "../platform/parallel.h"
#include "work_split.h"

namespace conv1x1 {
namespace {

using kernels::FusedActivation;
using kernels::PointwiseBlock;

// A block of output: `images` images from `image` (NCHW; several only on channel tiles) and a group,
// a range of the group's panels and of its pixels (NHWC: of the batch's pixels).
struct BlockRange {
  int64_t image = 0, images = 1, group = 0;
  int64_t panel_begin = 0, panel_end = 0;
  int64_t pixel_begin = 0, pixel_end = 0;
};

FusedActivation fused_activation(Activation activation) {
  switch (activation) {
    case Activation::None: return FusedActivation::None;
    case Activation::Relu: return FusedActivation::Relu;
    case Activation::Relu6: return FusedActivation::Relu6;
    case Activation::LeakyRelu: return FusedActivation::LeakyRelu;
    case Activation::Hardswish: return FusedActivation::Hardswish;
    default: return FusedActivation::Deferred;
  }
}

// NCHW channel tiles on a batch of small images: up to this many floats of input from several
// images go in one block, so that each panel's weights serve them all in one pass (weights larger
// than L2 otherwise stream from L3 once per image). Paired on AVX-512: N=32 7² 512→2048 +7.3% at 1
// thread and +3.1% at 2, N=8 7² 2048→512 +2.2% and +3.3%, N=8 7² 320→1280 +3.3%, N=3 7² 512→512
// +3.9%; N=16 14² 256→1024 (weights of 1 MiB, in L2 anyway) and N=4 14² 1024→256 within ±0.5%.
constexpr int64_t kImageGroupFloats = int64_t{1} << 18;  // 1 MiB

// How many images of `image_floats` input floats each go in one block: as many as fit
// kImageGroupFloats, in a number of blocks that the threads share evenly.
int64_t images_per_block(int64_t batch, int64_t image_floats, int threads) {
  const int64_t fit = kImageGroupFloats / std::max<int64_t>(1, image_floats);
  if (fit < 2 || batch < 2) return 1;
  int64_t blocks = (batch + fit - 1) / fit;
  blocks = std::min(batch, (blocks + threads - 1) / threads * threads);
  return (batch + blocks - 1) / blocks;
}

// The transcendental activations, exact, on a tile the kernel has just stored (still in L1).
void finish_tile(float* y, int64_t rows, int64_t cols, int64_t ld, const void* context) {
  Epilogue activation_only = *static_cast<const Epilogue*>(context);
  activation_only.bias = nullptr;
  apply_epilogue(y, rows, cols, ld, true, activation_only);
}

// The share of the threads' time that does work when `extent` units, cut into ranges of whole
// quanta, go to `pieces` threads: the longest range sets the time.
double balance(int64_t extent, int64_t pieces, int64_t quantum) {
  const int64_t longest = std::min(extent, even_piece(extent, pieces, quantum));
  return static_cast<double>(extent) / static_cast<double>(pieces * longest);
}

// Cuts each (images from `image`, group) into `pieces` blocks along the pixels or along the panels,
// whichever keeps the kernel's tiles whole and the pieces even: the pixels when there are enough of
// them for the tile shape, unless whole tiles split them unevenly and the panels split evenly (784
// pixels in 48-pixel tiles go 432 + 352 to two threads; 64 panels go 32 + 32).
void add_blocks(int64_t image, int64_t images, int64_t group, int64_t pixels, int64_t panels,
                int64_t pixel_quantum, int64_t pieces, std::vector<BlockRange>* blocks) {
  BlockRange block;
  block.image = image;
  block.images = images;
  block.group = group;
  bool split_pixels = pieces == 1 || pixels >= pieces * pixel_quantum * 2 || panels < pieces;
  if (split_pixels && pieces > 1 && panels >= pieces &&
      balance(panels, pieces, 1) > balance(pixels, pieces, pixel_quantum)) {
    split_pixels = false;
  }
  int64_t pixel_step = split_pixels ? even_piece(pixels, pieces, pixel_quantum) : pixels;
  // A last piece of a few pixels (29 in tiles of 14 go 28 + 1) would stream every weight for them in
  // a tile too narrow to fill the FMA units: the pieces are then even instead of whole tiles.
  const int64_t last = pixels % pixel_step;
  if (last != 0 && last < pixel_quantum / 2 && pixels > pixel_step) {
    pixel_step = (pixels + pieces - 1) / pieces;
  }
  const int64_t panel_step = split_pixels ? panels : even_piece(panels, pieces, 1);
  for (int64_t pb = 0; pb < panels; pb += panel_step) {
    for (int64_t xb = 0; xb < pixels; xb += pixel_step) {
      block.panel_begin = pb;
      block.panel_end = std::min(panels, pb + panel_step);
      block.pixel_begin = xb;
      block.pixel_end = std::min(pixels, xb + pixel_step);
      blocks->push_back(block);
    }
  }
}

// Both run_packed and run_strided_packed: with `strided`, source is the NCHW input of a strided
// convolution without padding, and output pixel (oy, ox) reads input pixel (oy·sh, ox·sw).
void run_blocks(const ConvPlan& plan, const PackedWeights& packed, const float* source,
                float* destination, int64_t extent, const Epilogue* epilogue, int threads, bool strided) {
  const ConvParams& p = plan.params;
  const bool nchw = p.layout == Layout::NCHW;
  const int64_t cin_g = plan.in_channels_per_group, cout_g = plan.out_channels_per_group;
  const kernels::PointwiseKernels& k = *packed.kernels;
  const bool pixel_tiles = packed.shape == TileShape::Pixels;
  const int64_t pixel_quantum = pixel_tiles ? k.pixel_tile_width : k.channel_tile_pixels;

  std::vector<BlockRange> blocks;
  const int64_t units = nchw ? p.batch * p.groups : p.groups;
  // A product over few pixels is bound by streaming its weights, each of which costs about two
  // multiply-adds' time (measured: Linear 512→512 on one pixel, 9.1 µs on one thread, 7.2 µs on two):
  // it is split as if it had that much work, so that each core streams its share from its own L2.
  const double macs = static_cast<double>(extent) * static_cast<double>(cout_g) * static_cast<double>(cin_g);
  const double weight_work = 2.0 * static_cast<double>(cout_g) * static_cast<double>(cin_g);
  const int64_t pieces = pieces_per_block(units, std::max(macs, weight_work), threads);
  const bool group_images = nchw && !pixel_tiles && !strided && pieces == 1;
  const int64_t image_step = group_images ? images_per_block(p.batch, extent * cin_g, threads) : 1;
  for (int64_t n = 0; n < (nchw ? p.batch : 1); n += image_step) {
    for (int64_t g = 0; g < p.groups; ++g) {
      add_blocks(n, std::min(image_step, p.batch - n), g, extent, packed.group_panels, pixel_quantum, pieces,
                 &blocks);
    }
  }

  PointwiseBlock base;
  base.k = cin_g;
  base.add_bias = epilogue && epilogue->bias;
  base.activation = epilogue ? fused_activation(epilogue->activation) : FusedActivation::None;
  base.negative_slope = epilogue ? epilogue->negative_slope : 0.0f;
  if (base.activation == FusedActivation::Deferred) {
    base.finish = finish_tile;
    base.finish_context = epilogue;
  }
  if (nchw) {
    base.x_k_stride = extent;
    base.x_pixel_stride = 1;
    base.y_channel_stride = extent;
    base.y_pixel_stride = 1;
  } else {
    base.x_k_stride = 1;
    base.x_pixel_stride = p.in_channels;
    base.y_channel_stride = 1;
    base.y_pixel_stride = p.out_channels;
  }
  parallel_for(static_cast<int64_t>(blocks.size()), threads, [&](int64_t index) {
    const BlockRange& r = blocks[static_cast<size_t>(index)];
    PointwiseBlock b = base;
    const int64_t first_channel = r.panel_begin * packed.width;
    b.panels = packed.panel(r.group, r.panel_begin);
    b.channels = std::min(r.panel_end * packed.width, cout_g) - first_channel;
    b.pixels = r.pixel_end - r.pixel_begin;
    b.images = r.images;
    b.x_image_stride = strided ? p.in_channels * plan.in_pixels : p.in_channels * extent;
    b.y_image_stride = p.out_channels * extent;
    if (strided) {
      b.x = source + (r.image * p.in_channels + r.group * cin_g) * plan.in_pixels;
      b.x_k_stride = plan.in_pixels;
      b.x_pixel_stride = p.stride_w;
      b.x_row_stride = p.stride_h * p.width;
      b.x_row_pixels = plan.out_width;
      b.x_first_pixel = r.pixel_begin;
      b.y = destination + (r.image * p.out_channels + r.group * cout_g + first_channel) * extent +
            r.pixel_begin;
    } else if (nchw) {
      b.x = source + (r.image * p.in_channels + r.group * cin_g) * extent + r.pixel_begin;
      b.y = destination + (r.image * p.out_channels + r.group * cout_g + first_channel) * extent +
            r.pixel_begin;
    } else {
      b.x = source + r.pixel_begin * p.in_channels + r.group * cin_g;
      b.y = destination + r.pixel_begin * p.out_channels + r.group * cout_g + first_channel;
    }
    if (pixel_tiles) {
      k.run_pixel_tiles(b);
    } else {
      k.run_channel_tiles(b);
    }
  });
}

}  // namespace

void run_packed(const ConvPlan& plan, const PackedWeights& packed, const float* source,
                float* destination, int64_t extent, const Epilogue* epilogue, int threads) {
  run_blocks(plan, packed, source, destination, extent, epilogue, threads, false);
}

bool reads_strided_input(const ConvPlan& plan, const PackedWeights& packed) {
  return plan.params.layout == Layout::NCHW && packed.shape == TileShape::Channels &&
         plan.strided_without_border();
}

void run_strided_packed(const ConvPlan& plan, const PackedWeights& packed, const float* input,
                        float* output, const Epilogue* epilogue, int threads) {
  run_blocks(plan, packed, input, output, plan.out_pixels, epilogue, threads, true);
}

}  // namespace conv1x1

#pragma once
// Pointwise (1×1 convolution) microkernels over weights packed once into panels, bias and the
// piecewise-linear activations applied in vector registers before the store. Two tile shapes, because
// the vector direction has to follow the layer's shape:
//   pixel tiles    vectors run along the pixels (NCHW with many pixels): MR channels × NR pixels per
//                  tile, weights broadcast from panels MR channels wide, X rows read where they are;
//   channel tiles  vectors run along the output channels (NCHW with few pixels, and NHWC): P pixels ×
//                  NC channels per tile, weights loaded from panels NC channels wide, X broadcast.
// A panel is, for k = 0 … K−1, `width` consecutive weights (zero past the last channel), followed by
// `width` bias values (zero without a bias): (K + 1) · width floats.
// Each instruction set's kernels live in one file built with that set's flags alone; this header and
// the structs are plain C++ so that nothing here is instantiated under ISA flags by another file.
#include <stdint.h>

namespace conv1x1 {
namespace kernels {

// What the kernels do after bias: the piecewise-linear activations run in registers; `Deferred`
// leaves the biased values in the output tile and calls PointwiseBlock::finish on it while it is
// still in L1 (the transcendental activations, exact as in PyTorch).
enum class FusedActivation : int { None, Relu, Relu6, LeakyRelu, Hardswish, Deferred };

// One block of output: `channels` output channels (consecutive panels) × `pixels` pixels.
// Element (k, pixel) of X is x[k·x_k_stride + pixel·x_pixel_stride]; element (channel, pixel) of Y
// is y[channel·y_channel_stride + pixel·y_pixel_stride].
struct PointwiseBlock {
  const float* panels = nullptr;  // the block's first panel; panels follow each other
  int64_t channels = 0;
  int64_t k = 0;
  int64_t pixels = 0;
  const float* x = nullptr;
  int64_t x_k_stride = 0, x_pixel_stride = 0;
  // Channel tiles only: pixels on a grid, as a strided convolution reads its input. With
  // x_row_pixels > 0, pixel p of the block is pixel a = x_first_pixel + p of a grid x_row_pixels
  // wide, and its element k is x[k·x_k_stride + (a / x_row_pixels)·x_row_stride +
  // (a % x_row_pixels)·x_pixel_stride].
  int64_t x_row_pixels = 0, x_row_stride = 0, x_first_pixel = 0;
  float* y = nullptr;
  int64_t y_channel_stride = 0, y_pixel_stride = 0;
  // Channel tiles only: `images` images of `pixels` pixels each share each panel's pass over the
  // weights, image i's X and Y at x + i·x_image_stride and y + i·y_image_stride.
  int64_t images = 1;
  int64_t x_image_stride = 0, y_image_stride = 0;
  bool add_bias = true;  // false: the panels' bias row is ignored (the caller adds it later)
  FusedActivation activation = FusedActivation::None;
  float negative_slope = 0.0f;
  // Deferred only: applies the activation to a rows × cols tile with leading dimension ld.
  void (*finish)(float* y, int64_t rows, int64_t cols, int64_t ld, const void* context) = nullptr;
  const void* finish_context = nullptr;
};

struct PointwiseKernels {
  const char* isa;          // "avx512f", "avx2+fma", "neon", "scalar"
  // The tiles, named by shape: "f32_pointwise_8x48__avx512f" (MR × NR) and
  // "f32_pointwise_14x32t__avx512f" (up to P pixels × NC channels, stored transposed on NCHW).
  const char* pixel_kernel;
  const char* channel_kernel;
  int pixel_panel_width;    // MR
  int pixel_tile_width;     // NR
  int channel_panel_width;  // NC
  int channel_tile_pixels;  // the most pixels P of a channel tile
  // Pixel tiles: needs x_pixel_stride == 1, y_pixel_stride == 1 and x_row_pixels == 0; panels
  // pixel_panel_width wide.
  void (*run_pixel_tiles)(const PointwiseBlock& block);
  // Channel tiles: any strides; panels channel_panel_width wide.
  void (*run_channel_tiles)(const PointwiseBlock& block);
};

// Called by a kernel whose contract does not hold, in builds with CONV1X1_CHECK_CONTRACTS only: the
// native tests and the fuzz targets define it (the addon never checks).
[[noreturn]] void contract_violated(const char* condition, const char* file, int line);

#if defined(CONV1X1_CHECK_CONTRACTS)
// Checked builds only: while true, every allocation of the kernels fails, so that tests reach the
// paths that run without their working memory.
extern bool deny_kernel_allocations;
#endif

namespace scalar { const PointwiseKernels& pointwise_kernels(); }
#if defined(__x86_64__) || defined(_M_X64)
namespace avx2 { const PointwiseKernels& pointwise_kernels(); }
namespace avx512 { const PointwiseKernels& pointwise_kernels(); }
#endif
#if defined(__aarch64__) || defined(_M_ARM64)
namespace neon { const PointwiseKernels& pointwise_kernels(); }
#endif

}  // namespace kernels
}  // namespace conv1x1

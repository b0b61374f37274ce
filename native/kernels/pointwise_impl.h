// The pointwise kernels, written once over a vector type and included by one .cc file per instruction
// set. That file defines, before including this one:
//   CONV1X1_KERNEL_ISA       the namespace (avx512, avx2, neon, scalar)
//   struct Vec               Reg, kLanes and the operations used below (zero, load, load_partial,
//                            store, store_partial, set1, broadcast, fma(a, b, c) = a·b + c, add, mul,
//                            max(c, x) and min(c, x) that return x when x is NaN, and
//                            select_negative(x, v) = x < 0 ? v : x)
//   kIsaName, kPixelRows (MR), kPixelVectors (NR / kLanes), kChannelVectors (NC / kLanes),
//   kChannelPixels (the most pixels P of a channel tile)
// Everything has internal linkage and no std:: template is used: an inline function instantiated
// under AVX-512 flags must never be picked by the linker for another file.
#include <stdint.h>

#include "pointwise.h"

namespace conv1x1 {
namespace kernels {
namespace CONV1X1_KERNEL_ISA {
namespace {

using Reg = Vec::Reg;
constexpr int kL = Vec::kLanes;
constexpr int kMR = kPixelRows;
constexpr int kNR = kPixelVectors * kL;
constexpr int kNC = kChannelVectors * kL;
constexpr int kP = kChannelPixels;

// X columns of one pass over the panels: sized so that K × columns floats stay in L2 while every
// panel sweeps them, and each panel's stores run along a few long rows.
constexpr int64_t kXBlockFloats = int64_t{64} << 10;  // 256 KiB

inline int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

struct Activation {
  FusedActivation kind;
  Reg slope, zero, three, six, sixth;
  explicit Activation(const PointwiseBlock& b)
      : kind(b.activation), slope(Vec::set1(b.negative_slope)), zero(Vec::zero()),
        three(Vec::set1(3.0f)), six(Vec::set1(6.0f)), sixth(Vec::set1(1.0f / 6.0f)) {}

  // Same operations in the same order as the scalar epilogue, so results match it bit for bit.
  Reg operator()(Reg v) const {
    switch (kind) {
      case FusedActivation::Relu: return Vec::max(zero, v);
      case FusedActivation::Relu6: return Vec::min(six, Vec::max(zero, v));
      case FusedActivation::LeakyRelu: return Vec::select_negative(v, Vec::mul(v, slope));
      case FusedActivation::Hardswish:
        return Vec::mul(Vec::mul(v, Vec::min(six, Vec::max(zero, Vec::add(v, three)))), sixth);
      case FusedActivation::None:
      case FusedActivation::Deferred: break;
    }
    return v;
  }
};

// ---- pixel tiles: MR channels × NR pixels, vectors along the pixels --------------------------------

// kColumns < kNR only on the last tile of a row: X is then read and Y written with partial vectors,
// which costs a little in the k loop, so full tiles never do it.
template <bool kEdge>
void pixel_tile(const float* panel, int64_t k, const float* x, int64_t ldx, int columns, int rows,
                float* y, int64_t ldy, bool add_bias, const Activation& act) {
  Reg acc[kMR][kPixelVectors];
  for (int i = 0; i < kMR; ++i)
    for (int j = 0; j < kPixelVectors; ++j) acc[i][j] = Vec::zero();
  for (int64_t p = 0; p < k; ++p) {
    Reg xv[kPixelVectors];
    const float* x_row = x + p * ldx;
    for (int j = 0; j < kPixelVectors; ++j) {
      if (kEdge) {
        const int left = columns - j * kL;
        xv[j] = left >= kL ? Vec::load(x_row + j * kL)
                           : (left > 0 ? Vec::load_partial(x_row + j * kL, left) : Vec::zero());
      } else {
        xv[j] = Vec::load(x_row + j * kL);
      }
    }
    const float* w = panel + p * kMR;
    for (int i = 0; i < kMR; ++i) {
      const Reg wi = Vec::broadcast(w + i);
      for (int j = 0; j < kPixelVectors; ++j) acc[i][j] = Vec::fma(wi, xv[j], acc[i][j]);
    }
  }
  const float* bias = panel + k * kMR;
  for (int i = 0; i < kMR; ++i) {
    if (i >= rows) break;
    const Reg b = add_bias ? Vec::broadcast(bias + i) : Vec::zero();
    float* y_row = y + i * ldy;
    for (int j = 0; j < kPixelVectors; ++j) {
      const Reg v = act(Vec::add(acc[i][j], b));
      if (kEdge) {
        const int left = columns - j * kL;
        if (left >= kL) {
          Vec::store(y_row + j * kL, v);
        } else if (left > 0) {
          Vec::store_partial(y_row + j * kL, v, left);
        }
      } else {
        Vec::store(y_row + j * kL, v);
      }
    }
  }
}

void run_pixel_tiles(const PointwiseBlock& b) {
  const Activation act(b);
  const int64_t panel_floats = (b.k + 1) * kMR;
  const int64_t panel_count = (b.channels + kMR - 1) / kMR;
  int64_t block_columns = kXBlockFloats / (b.k > 0 ? b.k : 1) / kNR * kNR;
  if (block_columns < kNR) block_columns = kNR;
  for (int64_t c0 = 0; c0 < b.pixels; c0 += block_columns) {
    const int64_t c1 = min64(b.pixels, c0 + block_columns);
    for (int64_t panel = 0; panel < panel_count; ++panel) {
      const float* w = b.panels + panel * panel_floats;
      const int rows = static_cast<int>(min64(kMR, b.channels - panel * kMR));
      float* y = b.y + panel * kMR * b.y_channel_stride;
      int64_t c = c0;
      for (; c + kNR <= c1; c += kNR) {
        pixel_tile<false>(w, b.k, b.x + c, b.x_k_stride, kNR, rows, y + c, b.y_channel_stride,
                          b.add_bias, act);
      }
      if (c < c1) {
        pixel_tile<true>(w, b.k, b.x + c, b.x_k_stride, static_cast<int>(c1 - c), rows, y + c,
                         b.y_channel_stride, b.add_bias, act);
      }
      if (b.activation == FusedActivation::Deferred) {
        b.finish(y + c0, rows, c1 - c0, b.y_channel_stride, b.finish_context);
      }
    }
  }
}

// ---- channel tiles: P pixels × NC channels, vectors along the channels ----------------------------

// Stores one pixel's NC channels: along a row when channels are contiguous (NHWC), else (NCHW) into
// a small transposed buffer the caller writes out column by column.
template <int kPixels>
void channel_tile(const float* panel, int64_t k, const float* x, int64_t x_k_stride,
                  int64_t x_pixel_stride, int channels, float* y, int64_t y_channel_stride,
                  int64_t y_pixel_stride, bool add_bias, const Activation& act) {
  Reg acc[kPixels][kChannelVectors];
  for (int q = 0; q < kPixels; ++q)
    for (int j = 0; j < kChannelVectors; ++j) acc[q][j] = Vec::zero();
  for (int64_t p = 0; p < k; ++p) {
    Reg w[kChannelVectors];
    for (int j = 0; j < kChannelVectors; ++j) w[j] = Vec::load(panel + p * kNC + j * kL);
    const float* x_k = x + p * x_k_stride;
    for (int q = 0; q < kPixels; ++q) {
      const Reg xq = Vec::broadcast(x_k + q * x_pixel_stride);
      for (int j = 0; j < kChannelVectors; ++j) acc[q][j] = Vec::fma(xq, w[j], acc[q][j]);
    }
  }
  Reg bias[kChannelVectors];
  for (int j = 0; j < kChannelVectors; ++j) {
    bias[j] = add_bias ? Vec::load(panel + k * kNC + j * kL) : Vec::zero();
  }
  if (y_channel_stride == 1) {
    for (int q = 0; q < kPixels; ++q) {
      float* y_q = y + q * y_pixel_stride;
      for (int j = 0; j < kChannelVectors; ++j) {
        const Reg v = act(Vec::add(acc[q][j], bias[j]));
        const int left = channels - j * kL;
        if (left >= kL) {
          Vec::store(y_q + j * kL, v);
        } else if (left > 0) {
          Vec::store_partial(y_q + j * kL, v, left);
        }
      }
    }
    return;
  }
  float tile[kPixels][kNC];
  for (int q = 0; q < kPixels; ++q)
    for (int j = 0; j < kChannelVectors; ++j) Vec::store(&tile[q][j * kL], act(Vec::add(acc[q][j], bias[j])));
  for (int c = 0; c < channels; ++c) {
    float* y_c = y + c * y_channel_stride;
    for (int q = 0; q < kPixels; ++q) y_c[q * y_pixel_stride] = tile[q][c];
  }
}

using ChannelTileFn = void (*)(const float*, int64_t, const float*, int64_t, int64_t, int, float*,
                               int64_t, int64_t, bool, const Activation&);

template <int kPixels>
struct ChannelTileTable {
  static void fill(ChannelTileFn* table) {
    table[kPixels] = channel_tile<kPixels>;
    ChannelTileTable<kPixels - 1>::fill(table);
  }
};
template <>
struct ChannelTileTable<0> {
  static void fill(ChannelTileFn* table) { table[0] = nullptr; }
};

void run_channel_tiles(const PointwiseBlock& b) {
  ChannelTileFn tiles[kP + 1];
  ChannelTileTable<kP>::fill(tiles);
  const Activation act(b);
  const int64_t panel_floats = (b.k + 1) * kNC;
  const int64_t panel_count = (b.channels + kNC - 1) / kNC;
  int64_t block_pixels = kXBlockFloats / (b.k > 0 ? b.k : 1) / kP * kP;
  if (block_pixels < kP) block_pixels = kP;
  for (int64_t p0 = 0; p0 < b.pixels; p0 += block_pixels) {
    const int64_t p1 = min64(b.pixels, p0 + block_pixels);
    // Tiles as even as possible (49 pixels at P = 14: 13 + 12 + 12 + 12, not 14 + 14 + 14 + 7).
    const int64_t tile_count = (p1 - p0 + kP - 1) / kP;
    const int64_t base = (p1 - p0) / tile_count, longer = (p1 - p0) % tile_count;
    for (int64_t panel = 0; panel < panel_count; ++panel) {
      const float* w = b.panels + panel * panel_floats;
      const int channels = static_cast<int>(min64(kNC, b.channels - panel * kNC));
      float* y = b.y + panel * kNC * b.y_channel_stride;
      int64_t p = p0;
      for (int64_t t = 0; t < tile_count; ++t) {
        const int count = static_cast<int>(base + (t < longer ? 1 : 0));
        tiles[count](w, b.k, b.x + p * b.x_pixel_stride, b.x_k_stride, b.x_pixel_stride, channels,
                     y + p * b.y_pixel_stride, b.y_channel_stride, b.y_pixel_stride, b.add_bias, act);
        p += count;
      }
      if (b.activation == FusedActivation::Deferred) {
        // NHWC: rows are pixels; NCHW: rows are channels.
        if (b.y_channel_stride == 1) {
          b.finish(y + p0 * b.y_pixel_stride, p1 - p0, channels, b.y_pixel_stride, b.finish_context);
        } else {
          b.finish(y + p0, channels, p1 - p0, b.y_channel_stride, b.finish_context);
        }
      }
    }
  }
}

}  // namespace

const PointwiseKernels& pointwise_kernels() {
  static const PointwiseKernels kernels = {kIsaName, kMR, kNR, kNC, kP, run_pixel_tiles,
                                           run_channel_tiles};
  return kernels;
}

}  // namespace CONV1X1_KERNEL_ISA
}  // namespace kernels
}  // namespace conv1x1

#include "conv1x1.h"

#include <algorithm>
#include <cstring>
#include <new>

#include "../platform/parallel.h"
#include "call_scratch.h"
#include "error.h"
#include "gather.h"
#include "packed_conv.h"
#include "work_split.h"

namespace conv1x1 {
namespace {

// Tiles are few and large: about one per thread, none with an output block over 16 MiB. A BLAS call
// has a fixed cost (packing its operands, taking buffers) that smaller tiles pay again and again:
// measured on ResNet-50's 56×56 64→256 layer, L2-sized tiles ran OpenBLAS at half its speed.
constexpr int64_t kTileOutputFloats = int64_t{4} << 20;
constexpr int64_t kColumnQuantum = 64;  // tile widths in whole kernel tiles and cache lines
constexpr int64_t kRowQuantum = 16;

// One unit of parallel work: a GEMM into a block of the output, then (when fused) bias and activation
// on that block, on the same thread while the block is still warm in its caches.
struct Tile {
  GemmArgs gemm;
  const float* bias = nullptr;  // this block's first bias value
  bool bias_per_row = false;    // NCHW: rows are channels; NHWC: columns are
};

// The product of a group when K = Cin/g is 1 (depthwise and channel multipliers): an outer product,
// cheaper inline than a BLAS call.
void outer_product(const GemmArgs& g) {
  for (int64_t i = 0; i < g.m; ++i) {
    float* c = g.c + i * g.ldc;
    const float a = g.a[i * g.lda];
    for (int64_t j = 0; j < g.n; ++j) c[j] = a * (g.b_transposed ? g.b[j * g.ldb] : g.b[j]);
  }
}

int64_t round_up(int64_t value, int64_t quantum) { return (value + quantum - 1) / quantum * quantum; }

// Splits an extent into pieces of about `target` (in whole quanta), more of them when there are
// fewer than `minimum_pieces` so that every thread gets work.
int64_t piece_size(int64_t extent, int64_t target, int64_t quantum, int64_t minimum_pieces) {
  int64_t size = std::max(quantum, target / quantum * quantum);
  if (minimum_pieces > 1) {
    size = std::min(size, round_up((extent + minimum_pieces - 1) / minimum_pieces, quantum));
  }
  return std::min(size, extent);
}

// NCHW: per image and group, C[Cout/g × pixels] = W_g · X_g, split by columns (pixels) or, for few
// pixels, by rows (output channels).
void nchw_tiles(const ConvPlan& plan, const float* source, float* destination, int64_t columns,
                const ConvTensors& t, int threads, std::vector<Tile>* tiles) {
  const ConvParams& p = plan.params;
  const int64_t cin_g = plan.in_channels_per_group, cout_g = plan.out_channels_per_group;
  const int64_t wanted =
      pieces_per_block(p.batch * p.groups, static_cast<double>(cout_g) * columns * cin_g, threads);
  const bool split_columns = columns >= cout_g;
  const int64_t width = split_columns
      ? piece_size(columns, kTileOutputFloats / std::max<int64_t>(cout_g, 1), kColumnQuantum, wanted)
      : columns;
  const int64_t height = split_columns
      ? cout_g
      : piece_size(cout_g, kTileOutputFloats / std::max<int64_t>(columns, 1), kRowQuantum, wanted);
  for (int64_t n = 0; n < p.batch; ++n) {
    for (int64_t g = 0; g < p.groups; ++g) {
      const float* x = source + (n * p.in_channels + g * cin_g) * columns;
      float* y = destination + (n * p.out_channels + g * cout_g) * columns;
      for (int64_t i = 0; i < cout_g; i += height) {
        for (int64_t j = 0; j < columns; j += width) {
          Tile tile;
          tile.gemm.m = std::min(height, cout_g - i);
          tile.gemm.n = std::min(width, columns - j);
          tile.gemm.k = cin_g;
          tile.gemm.a = t.weight + (g * cout_g + i) * cin_g;
          tile.gemm.lda = cin_g;
          tile.gemm.b = x + j;
          tile.gemm.ldb = columns;
          tile.gemm.c = y + i * columns + j;
          tile.gemm.ldc = columns;
          tile.bias = t.bias ? t.bias + g * cout_g + i : nullptr;
          tile.bias_per_row = true;
          tiles->push_back(tile);
        }
      }
    }
  }
}

// NHWC: per group, C[pixels × Cout/g] = X[pixels × Cin/g] · W_gᵀ over the whole batch, split by rows.
void nhwc_tiles(const ConvPlan& plan, const float* source, float* destination, int64_t rows,
                const ConvTensors& t, int threads, std::vector<Tile>* tiles) {
  const ConvParams& p = plan.params;
  const int64_t cin_g = plan.in_channels_per_group, cout_g = plan.out_channels_per_group;
  const int64_t wanted =
      pieces_per_block(p.groups, static_cast<double>(rows) * cout_g * cin_g, threads);
  const int64_t height =
      piece_size(rows, kTileOutputFloats / std::max<int64_t>(cout_g, 1), kRowQuantum, wanted);
  for (int64_t g = 0; g < p.groups; ++g) {
    for (int64_t r = 0; r < rows; r += height) {
      Tile tile;
      tile.gemm.m = std::min(height, rows - r);
      tile.gemm.n = cout_g;
      tile.gemm.k = cin_g;
      tile.gemm.a = source + r * p.in_channels + g * cin_g;
      tile.gemm.lda = p.in_channels;
      if (t.weight_pretransposed) {
        tile.gemm.b = t.weight + g * cin_g * cout_g;
        tile.gemm.ldb = cout_g;
      } else {
        tile.gemm.b = t.weight + g * cout_g * cin_g;
        tile.gemm.ldb = cin_g;
        tile.gemm.b_transposed = true;
      }
      tile.gemm.c = destination + r * p.out_channels + g * cout_g;
      tile.gemm.ldc = p.out_channels;
      tile.bias = t.bias ? t.bias + g * cout_g : nullptr;
      tile.bias_per_row = false;
      tiles->push_back(tile);
    }
  }
}

void run_tiles(const std::vector<Tile>& tiles, const Epilogue* fused, const GemmBackend& gemm,
               int threads) {
  parallel_for(static_cast<int64_t>(tiles.size()), threads, [&](int64_t index) {
    const Tile& tile = tiles[static_cast<size_t>(index)];
    if (tile.gemm.m == 0 || tile.gemm.n == 0) return;
    if (tile.gemm.k == 1) {
      outer_product(tile.gemm);
    } else {
      gemm.sgemm(tile.gemm);
    }
    if (fused) {
      Epilogue epilogue = *fused;
      epilogue.bias = tile.bias;
      apply_epilogue(tile.gemm.c, tile.gemm.m, tile.gemm.n, tile.gemm.ldc, tile.bias_per_row,
                     epilogue);
    }
  });
}

// The epilogue as a pass of its own, for outputs the tiles do not cover whole (padding borders).
void run_epilogue(const ConvPlan& plan, float* y, const Epilogue& e, int threads) {
  if (!e.bias && e.activation == Activation::None) return;
  const ConvParams& p = plan.params;
  const bool nchw = p.layout == Layout::NCHW;
  // NCHW: rows are (image, channel) with the channel's bias; NHWC: rows are pixels, bias per column.
  const int64_t rows = nchw ? p.batch * p.out_channels : p.batch * plan.out_pixels;
  const int64_t cols = nchw ? plan.out_pixels : p.out_channels;
  const int64_t parts_wanted = std::max<int64_t>(1, std::min<int64_t>(threads, rows * cols / kMinPieceMacs));
  const int64_t rows_per_part = (rows + parts_wanted - 1) / parts_wanted;
  const int64_t parts = (rows + rows_per_part - 1) / rows_per_part;
  parallel_for(parts, threads, [&](int64_t part) {
    const int64_t end = std::min(rows, (part + 1) * rows_per_part);
    for (int64_t r = part * rows_per_part; r < end;) {
      if (!nchw) {
        apply_epilogue(y + r * cols, end - r, cols, cols, /*bias_per_row=*/false, e);
        break;
      }
      // One image's channels at a time, so that row r takes bias[r mod Cout].
      const int64_t channel = r % p.out_channels;
      const int64_t count = std::min(end - r, p.out_channels - channel);
      Epilogue rows_epilogue = e;
      if (e.bias) rows_epilogue.bias = e.bias + channel;
      apply_epilogue(y + r * cols, count, cols, cols, /*bias_per_row=*/true, rows_epilogue);
      r += count;
    }
  });
}

// The product over `source` (the input, or the gathered pixels that see it) into `destination`, with
// the epilogue fused when one is given: on the packed kernels when the call has packed weights, else
// on the GEMM backend.
void run_product(const ConvPlan& plan, const ConvTensors& t, const float* source, float* destination,
                 const Epilogue* epilogue, const GemmBackend& gemm, int threads) {
  const ConvParams& p = plan.params;
  const bool nchw = p.layout == Layout::NCHW;
  const int64_t extent = nchw ? plan.inner_pixels() : p.batch * plan.inner_pixels();
  if (t.packed) {
    run_packed(plan, *t.packed, source, destination, extent, epilogue, threads);
    return;
  }
  std::vector<Tile> tiles;
  if (nchw) {
    nchw_tiles(plan, source, destination, extent, t, threads, &tiles);
  } else {
    nhwc_tiles(plan, source, destination, extent, t, threads, &tiles);
  }
  run_tiles(tiles, epilogue, gemm, threads);
}

}  // namespace

void run_conv(const ConvPlan& plan, const ConvTensors& t, const GemmBackend& gemm, int threads) {
  if (plan.output_elements == 0) return;
  const ConvParams& p = plan.params;
  Epilogue epilogue;
  epilogue.bias = t.bias;
  epilogue.activation = p.activation;
  epilogue.negative_slope = p.negative_slope;

  if (plan.in_channels_per_group == 0 || plan.inner_pixels() == 0) {
    // No input reaches any output: every output is act(bias), and BLAS is never asked for K = 0.
    std::fill(t.output, t.output + plan.output_elements, 0.0f);
    run_epilogue(plan, t.output, epilogue, threads);
    return;
  }
  if (plan.direct) {
    run_product(plan, t, t.input, t.output, &epilogue, gemm, threads);
    return;
  }
  // Strided without padding on NCHW channel tiles: they copy what they read from the input itself.
  if (t.packed && reads_strided_input(plan, *t.packed)) {
    run_strided_packed(plan, *t.packed, t.input, t.output, &epilogue, threads);
    return;
  }
  // Strided or padded: GEMM over the gathered pixels that see the input. Without a padding border
  // those are all the output pixels, in order: the GEMM writes the output itself, epilogue fused.
  const int64_t inner = plan.inner_pixels();
  const CallScratch in_panel(p.batch * p.in_channels * inner,
                             "the gathered input of a strided or padded convolution");
  gather(plan, t.input, in_panel.data(), threads);
  if (plan.strided_without_border()) {
    run_product(plan, t, in_panel.data(), t.output, &epilogue, gemm, threads);
    return;
  }
  // With a border: the result goes back into the full output (border zero), then the epilogue covers
  // every output pixel.
  const CallScratch out_panel(p.batch * p.out_channels * inner,
                              "the inner output of a padded convolution");
  run_product(plan, t, in_panel.data(), out_panel.data(), nullptr, gemm, threads);
  scatter(plan, out_panel.data(), t.output);
  run_epilogue(plan, t.output, epilogue, threads);
}

std::vector<float> pretranspose_weights(const ConvPlan& plan, const float* weight) {
  if (plan.params.layout != Layout::NHWC || plan.in_channels_per_group <= 1) return {};
  const int64_t cin_g = plan.in_channels_per_group, cout_g = plan.out_channels_per_group;
  std::vector<float> transposed;
  try {
    transposed.resize(static_cast<size_t>(plan.weight_elements));
  } catch (const std::bad_alloc&) {
    throw Error(ErrorCode::OutOfMemory, "could not allocate " + std::to_string(plan.weight_elements * 4) +
                                            " bytes for the transposed weights of an NHWC convolution");
  }
  for (int64_t g = 0; g < plan.params.groups; ++g) {
    const float* w = weight + g * cout_g * cin_g;
    float* wt = transposed.data() + g * cin_g * cout_g;
    for (int64_t o = 0; o < cout_g; ++o) {
      for (int64_t i = 0; i < cin_g; ++i) wt[i * cout_g + o] = w[o * cin_g + i];
    }
  }
  return transposed;
}

}  // namespace conv1x1

// The pointwise kernels, written once over a vector type and included by one .cc file per instruction
// set. That file defines, before including this one:
//   CONV1X1_KERNEL_ISA       the namespace (avx512, avx2, neon, scalar)
//   struct Vec               Reg, kLanes and the operations used below (zero, load, load_partial,
//                            store, store_partial, set1, broadcast, fma(a, b, c) = a·b + c, add, mul,
//                            max(c, x) and min(c, x) that return x when x is NaN,
//                            select_negative(x, v) = x < 0 ? v : x, transpose(r[kLanes]) that
//                            turns the rows of a kLanes × kLanes block into its columns, and
//                            even_lanes(a, b) = lanes 0, 2, 4, … of a then of b)
//   kIsaName, kPixelRows (MR), kPixelVectors (NR / kLanes), kChannelVectors (NC / kLanes),
//   kChannelPixels (the most pixels P of a channel tile)
// Everything has internal linkage and no std:: template is used: an inline function instantiated
// under AVX-512 flags must never be picked by the linker for another file.
#include <stdint.h>
#include <stdlib.h>
#if defined(_MSC_VER) && !defined(__clang__)
#include <intrin.h>
#if !defined(_M_ARM64)
#include <xmmintrin.h>
#endif
#endif

#include "pointwise.h"

// The kernels' contracts: checked in the native test and fuzz builds, which define
// CONV1X1_CHECK_CONTRACTS and provide contract_violated (a failed check there); the core guarantees
// them, and the addon never checks, so nothing here can end a user's process.
#if defined(CONV1X1_CHECK_CONTRACTS)
#define CONV1X1_EXPECT(condition) ((condition) ? (void)0 : contract_violated(#condition, __FILE__, __LINE__))
#else
#define CONV1X1_EXPECT(condition) ((void)0)
#endif

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

// X columns of one pass over the panels: sized so that (K-block depth) × columns floats stay in L2
// while every panel sweeps them, and each panel's stores run along a few long rows.
constexpr int64_t kXBlockFloats = int64_t{64} << 10;  // 256 KiB
// K blocks of about kKBlock (a 4 KiB block of a pixel panel's weights, 16 KiB of a channel panel's)
// once K passes kPixelKBlockMax or kChannelKBlockMax. A channel panel's whole depth at K = 256 (32
// KiB) and the tile's X lines fill L1: blocks of 128 measured +3.6% on N=16 14² 256→1024 (AVX-512,
// 1 thread); pixel panels, 4 times narrower, run K = 256 best unblocked.
constexpr int64_t kKBlock = 128;
constexpr int64_t kPixelKBlockMax = 256;
constexpr int64_t kChannelKBlockMax = 128;
// Up to this K, pixel tiles sweep one panel across the pixels; beyond, one X tile across the panels.
constexpr int64_t kPanelOuterMaxK = 64;

inline int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

// Working memory: null when there is none, and the caller goes on without it.
inline void* allocate(size_t bytes) {
#if defined(CONV1X1_CHECK_CONTRACTS)
  if (deny_kernel_allocations) return nullptr;
#endif
  return malloc(bytes);
}

// Before the last K block of a deep channel tile, the lines it will store are requested for writing:
// their misses (for a large output, all the way to memory) then overlap the block's multiply-adds
// instead of holding up the stores. Measured on AVX-512 at 1 thread: NHWC N=32 7² 512→2048 +4.3%,
// N=16 14² 256→1024 +4.7%; behind blocks of K = 64 the requests come too late and cost 4%.
constexpr int64_t kPrefetchOutputMinDepth = 128;

// The first tile of each K block asks L2 for the weights of the next one, a line per k as it goes:
// weights larger than L2 (7² 512→2048 has 4 MiB) otherwise arrive from L3 while that tile waits.
// Paired on AVX-512: 7² 512→2048 +4.2% (1 thread) and +4.0% (2), N=32 7² 512→2048 +3.9% and +3.3%,
// NHWC N=32 7² 512→2048 +2.5% and +3.1%, 7² 2048→512 +2.6% and +1.4%, other channel-tile layers
// +1 to +2%. Not with a single tile per block: Linear 512→512, streaming its weights once, lost 25%.
enum class Prefetch { ForWrite, ToL2 };

// The line at p, into L1 for writing or into L2 for reading.
template <Prefetch kKind>
inline void prefetch(const void* p) {
  constexpr bool kForWrite = kKind == Prefetch::ForWrite;
#if defined(_MSC_VER) && !defined(__clang__)
#if defined(_M_ARM64)
  (void)kForWrite;
  __prefetch(p);
#else
  _mm_prefetch(static_cast<const char*>(p), kForWrite ? _MM_HINT_T0 : _MM_HINT_T1);
#endif
#else
  __builtin_prefetch(p, kForWrite ? 1 : 0, kForWrite ? 3 : 2);
#endif
}

constexpr uintptr_t kLineBytes = 64;
constexpr int64_t kLineFloats = 16;

// Every cache line of [first, first + floats).
inline void prefetch_lines_for_write(const float* first, int64_t floats) {
  const uintptr_t begin = reinterpret_cast<uintptr_t>(first) / kLineBytes * kLineBytes;
  const uintptr_t end = reinterpret_cast<uintptr_t>(first + floats);
  for (uintptr_t line = begin; line < end; line += kLineBytes) {
    prefetch<Prefetch::ForWrite>(reinterpret_cast<const void*>(line));
  }
}

// The first cache-line boundary at or after `memory` (which has kLineBytes to spare), or null.
inline void* align_to_line(void* memory) {
  if (!memory) return nullptr;
  const uintptr_t address = reinterpret_cast<uintptr_t>(memory);
  return reinterpret_cast<void*>((address + kLineBytes - 1) / kLineBytes * kLineBytes);
}

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

// ---- K blocks ------------------------------------------------------------------------------------

// Deep products run in K blocks so that one block of weights and X stays in L1/L2: the first block
// writes the output tile, later ones add to it, the last applies bias and activation.
struct KStep {
  int64_t begin = 0, depth = 0;
  bool first = true, last = true;
};

// The K block from k0, at most `depth` deep, of a product over k.
KStep k_step(int64_t k0, int64_t depth, int64_t k) {
  KStep step;
  step.begin = k0;
  step.depth = min64(depth, k - k0);
  step.first = k0 == 0;
  step.last = k0 + depth >= k;
  return step;
}

// The depth of K cut into the fewest even blocks of at most `most`.
int64_t even_block_depth(int64_t k, int64_t most) {
  const int64_t blocks = (k + most - 1) / most;
  return (k + blocks - 1) / blocks;
}

int64_t k_block_depth(int64_t k, int64_t unblocked_max) {
  return k <= unblocked_max ? k : even_block_depth(k, kKBlock);
}

// ---- pixel tiles: MR channels × NR pixels, vectors along the pixels --------------------------------

// One row of a tile is kVectors vectors; on the last tile of a row (fewer than NR pixels left) the
// tile is narrowed to the vectors it needs, and only the very last of those may be partial
// (kPartialLast), so that masks stay out of every other load in the k loop.
template <bool kPartial>
inline Reg load_vector(const float* p, int count) {
  return kPartial ? Vec::load_partial(p, count) : Vec::load(p);
}

template <bool kPartial>
inline void store_vector(float* p, Reg v, int count) {
  if (kPartial) {
    Vec::store_partial(p, v, count);
  } else {
    Vec::store(p, v);
  }
}

// `last_count`: floats of the last vector (kL unless kPartialLast).
template <int kVectors, bool kPartialLast>
void pixel_tile(const float* weights, const float* bias, const KStep& step, const float* x,
                int64_t ldx, int last_count, int rows, float* y, int64_t ldy, const Activation& act) {
  CONV1X1_EXPECT(rows >= 1 && rows <= kMR && last_count >= 1 && last_count <= kL);
  CONV1X1_EXPECT(kPartialLast == (last_count < kL) && step.depth >= 1);
  constexpr int kV = kVectors - 1;  // the last vector
  Reg acc[kMR][kVectors];
  for (int i = 0; i < kMR; ++i) {
    for (int j = 0; j < kVectors; ++j) {
      if (step.first || i >= rows) {
        acc[i][j] = Vec::zero();
      } else if (j == kV) {
        acc[i][j] = load_vector<kPartialLast>(y + i * ldy + j * kL, last_count);
      } else {
        acc[i][j] = Vec::load(y + i * ldy + j * kL);
      }
    }
  }
  for (int64_t p = 0; p < step.depth; ++p) {
    Reg xv[kVectors];
    const float* x_row = x + p * ldx;
    for (int j = 0; j < kV; ++j) xv[j] = Vec::load(x_row + j * kL);
    xv[kV] = load_vector<kPartialLast>(x_row + kV * kL, last_count);
    const float* w = weights + p * kMR;
    for (int i = 0; i < kMR; ++i) {
      const Reg wi = Vec::broadcast(w + i);
      for (int j = 0; j < kVectors; ++j) acc[i][j] = Vec::fma(wi, xv[j], acc[i][j]);
    }
  }
  for (int i = 0; i < kMR; ++i) {
    if (i >= rows) break;
    float* y_row = y + i * ldy;
    const Reg b = step.last && bias ? Vec::broadcast(bias + i) : Vec::zero();
    for (int j = 0; j < kVectors; ++j) {
      const Reg v = step.last ? act(Vec::add(acc[i][j], b)) : acc[i][j];
      if (j == kV) {
        store_vector<kPartialLast>(y_row + j * kL, v, last_count);
      } else {
        Vec::store(y_row + j * kL, v);
      }
    }
  }
}

using PixelTileFn = void (*)(const float*, const float*, const KStep&, const float*, int64_t, int, int,
                             float*, int64_t, const Activation&);

// narrow[v][partial]: the tile of v vectors, the last partial or not.
template <int kVectors>
struct PixelTileTable {
  static void fill(PixelTileFn (*narrow)[2]) {
    narrow[kVectors][0] = pixel_tile<kVectors, false>;
    narrow[kVectors][1] = pixel_tile<kVectors, true>;
    PixelTileTable<kVectors - 1>::fill(narrow);
  }
};
template <>
struct PixelTileTable<0> {
  static void fill(PixelTileFn (*narrow)[2]) { narrow[0][0] = narrow[0][1] = nullptr; }
};

void run_pixel_tiles(const PointwiseBlock& b) {
  CONV1X1_EXPECT(b.panels && b.x && b.y && b.k >= 1 && b.channels >= 1 && b.pixels >= 0);
  CONV1X1_EXPECT(b.images == 1 && b.x_row_pixels == 0);
  CONV1X1_EXPECT(b.x_pixel_stride == 1 && b.y_pixel_stride == 1);  // rows of pixels, read as vectors
  CONV1X1_EXPECT(b.activation != FusedActivation::Deferred || b.finish);
  const Activation act(b);
  const int64_t panel_floats = (b.k + 1) * kMR;
  const int64_t panel_count = (b.channels + kMR - 1) / kMR;
  const int64_t depth = k_block_depth(b.k, kPixelKBlockMax);
  int64_t block_columns = kXBlockFloats / depth / kNR * kNR;
  if (block_columns < kNR) block_columns = kNR;
  // Shallow products sweep one panel across the block (its weights stay in L1, few store streams:
  // what large outputs need); deep ones keep an X tile in L1 while every panel passes over it.
  const bool tile_outer = b.k > kPanelOuterMaxK;
  PixelTileFn narrow[kPixelVectors + 1][2];
  PixelTileTable<kPixelVectors>::fill(narrow);
  // x: the tile's first X row of this K block; ldx: floats between its rows.
  auto tile = [&](int64_t panel, int64_t c, int64_t c1, const KStep& step, const float* x, int64_t ldx) {
    const float* w = b.panels + panel * panel_floats;
    const float* bias = b.add_bias ? w + b.k * kMR : nullptr;
    const int rows = static_cast<int>(min64(kMR, b.channels - panel * kMR));
    float* y = b.y + panel * kMR * b.y_channel_stride + c;
    const int columns = static_cast<int>(min64(kNR, c1 - c));
    const int vectors = (columns + kL - 1) / kL;
    const int last_count = columns - (vectors - 1) * kL;
    narrow[vectors][last_count != kL](w + step.begin * kMR, bias, step, x, ldx, last_count, rows, y,
                                       b.y_channel_stride, act);
  };
  // Tile-outer order reads one X tile once per panel. When X's rows are a multiple of 64 floats apart
  // (56×56 images: 3136), the tile's rows crowd onto a few L1 sets and evict each other; copied to
  // consecutive rows first, the tile stays in L1. Measured on AVX-512, 56² 256→64 at 1 thread:
  // about +10%; with rows at other strides the copy costs more than it saves (the stride-2
  // 56² 256→512, 784-float rows: −10%). (Without memory for the copy, the tiles read X in place.)
  const bool copy_x_tile = tile_outer && b.x_k_stride % 64 == 0;
  void* x_tile_memory =
      copy_x_tile ? allocate(static_cast<size_t>(depth) * kNR * sizeof(float) + kLineBytes) : nullptr;
  float* x_tile = static_cast<float*>(align_to_line(x_tile_memory));
  // A vector load that starts off a 64-byte boundary touches two cache lines. When X's rows all
  // share one alignment, the first `lead` pixels go first as a narrow tile, and every tile after it
  // loads X (and stores Y, when Y is aligned as X is, as buffers from one allocator are) from a
  // boundary. Below four tiles of pixels the extra tile costs more than it saves. Measured on
  // AVX-512 at 1 thread, X and Y 16 bytes past a boundary: +6% to +12% on the 28² and 56² layers,
  // +20% on 112² 16→96.
  int64_t lead = 0;
  const uintptr_t x_address = reinterpret_cast<uintptr_t>(b.x);
  if (b.pixels >= 4 * kNR && b.x_k_stride % kLineFloats == 0 && x_address % sizeof(float) == 0) {
    lead = static_cast<int64_t>((kLineBytes - x_address % kLineBytes) % kLineBytes / sizeof(float));
    if (lead >= b.pixels) lead = 0;
  }
  for (int64_t c0 = 0, c1 = 0; c0 < b.pixels; c0 = c1) {
    c1 = c0 < lead ? lead : min64(b.pixels, c0 + block_columns);
    for (int64_t k0 = 0; k0 < b.k; k0 += depth) {
      const KStep step = k_step(k0, depth, b.k);
      if (tile_outer) {
        for (int64_t c = c0; c < c1; c += kNR) {
          const float* x = b.x + step.begin * b.x_k_stride + c;
          int64_t ldx = b.x_k_stride;
          if (x_tile) {
            const int columns = static_cast<int>(min64(kNR, c1 - c));
            const int full = columns / kL, rest = columns - full * kL;
            for (int64_t p = 0; p < step.depth; ++p) {
              const float* from = x + p * b.x_k_stride;
              float* to = x_tile + p * kNR;
              for (int j = 0; j < full; ++j) Vec::store(to + j * kL, Vec::load(from + j * kL));
              if (rest) Vec::store_partial(to + full * kL, Vec::load_partial(from + full * kL, rest), rest);
            }
            x = x_tile;
            ldx = kNR;
          }
          for (int64_t panel = 0; panel < panel_count; ++panel) tile(panel, c, c1, step, x, ldx);
        }
      } else {
        for (int64_t panel = 0; panel < panel_count; ++panel)
          for (int64_t c = c0; c < c1; c += kNR)
            tile(panel, c, c1, step, b.x + step.begin * b.x_k_stride + c, b.x_k_stride);
      }
    }
    if (b.activation == FusedActivation::Deferred) {
      for (int64_t panel = 0; panel < panel_count; ++panel) {
        const int rows = static_cast<int>(min64(kMR, b.channels - panel * kMR));
        b.finish(b.y + panel * kMR * b.y_channel_stride + c0, rows, c1 - c0, b.y_channel_stride,
                 b.finish_context);
      }
    }
  }
  free(x_tile_memory);
}

// ---- channel tiles: P pixels × NC channels, vectors along the channels ----------------------------

// Independent accumulators that keep the FMA units busy: a tile with fewer splits its k into chains,
// whose order of summation then depends on where K blocks start.
constexpr int kEnoughChains = 8;

// `pixels` cut into tiles of at most P as evenly as possible (49 at P = 14: 13 + 12 + 12 + 12, not
// 14 + 14 + 14 + 7).
struct EvenTiles {
  int64_t count, base, longer;
  explicit EvenTiles(int64_t pixels)
      : count((pixels + kP - 1) / kP),
        base(count > 0 ? pixels / count : 0),
        longer(count > 0 ? pixels % count : 0) {}
  int size(int64_t t) const { return static_cast<int>(base + (t < longer ? 1 : 0)); }
};

// Whether every tile of `pixels` cut as evenly as possible sums each output in one chain.
bool one_chain_tiles(int64_t pixels) {
  const EvenTiles tiles(pixels);
  return tiles.count > 0 && tiles.base * kChannelVectors >= kEnoughChains;
}

// The deferred activation on `pixels` pixels × `channels` channels of output from y, just stored.
void finish_stored(const PointwiseBlock& b, float* y, int64_t pixels, int channels) {
  // NHWC: rows are pixels; NCHW: rows are channels.
  if (b.y_channel_stride == 1) {
    b.finish(y, pixels, channels, b.y_pixel_stride, b.finish_context);
  } else {
    b.finish(y, channels, pixels, b.y_channel_stride, b.finish_context);
  }
}

// One tile's step over a K block. Sums of earlier blocks wait in `partial` (kPixels × NC floats, the
// accumulators' own layout, so they go out and come back as whole vectors); the last block adds the
// bias, applies the activation and stores: along a row when channels are contiguous (NHWC), else
// (NCHW) turned in registers, one vector per channel.
// kUnitStride: pixels are adjacent in X (NCHW, or X copied into tile rows), so the broadcasts take
// constant offsets and leave the general registers free; NHWC in place steps by the channel count.
// next_weights, if set: the next K block's next_depth rows of weights, requested into L2 a k row at
// a time.
template <int kPixels, bool kUnitStride>
void channel_tile(const float* weights, const float* bias, const KStep& step, const float* x,
                  int64_t x_k_stride, int64_t x_pixel_stride_arg, float* partial, int channels,
                  float* y, int64_t y_channel_stride, int64_t y_pixel_stride, const Activation& act,
                  const float* next_weights, int64_t next_depth) {
  CONV1X1_EXPECT(channels >= 1 && channels <= kNC && step.depth >= 1);
  CONV1X1_EXPECT(step.first && step.last ? true : partial != nullptr);
  CONV1X1_EXPECT(!kUnitStride || x_pixel_stride_arg == 1);
  const int64_t x_pixel_stride = kUnitStride ? 1 : x_pixel_stride_arg;
  // Few pixels make few accumulators, and each FMA would wait for the one before it on the same
  // accumulator: with kSplit sets, consecutive k go to independent chains (Linear layers, P = 1).
  constexpr int kChains = kPixels * kChannelVectors;
  constexpr int kSplit = kChains >= kEnoughChains ? 1 : (kChains >= kEnoughChains / 2 ? 2 : 4);
  Reg acc[kSplit][kPixels][kChannelVectors];
  for (int s = 0; s < kSplit; ++s)
    for (int q = 0; q < kPixels; ++q)
      for (int j = 0; j < kChannelVectors; ++j) {
        acc[s][q][j] = s == 0 && !step.first ? Vec::load(partial + q * kNC + j * kL) : Vec::zero();
      }
  if (step.last && step.depth >= kPrefetchOutputMinDepth) {
    if (y_channel_stride == 1) {
      for (int q = 0; q < kPixels; ++q) prefetch_lines_for_write(y + q * y_pixel_stride, channels);
    } else if (y_pixel_stride == 1) {
      for (int c = 0; c < channels; ++c) prefetch_lines_for_write(y + c * y_channel_stride, kPixels);
    }
  }
  const int64_t k = step.depth;
  int64_t p = 0;
  for (; p + kSplit <= k; p += kSplit) {
    for (int s = 0; s < kSplit; ++s) {
      if (next_weights && p + s < next_depth) {
        for (int l = 0; l < kNC; l += kLineFloats) prefetch<Prefetch::ToL2>(next_weights + (p + s) * kNC + l);
      }
      Reg w[kChannelVectors];
      for (int j = 0; j < kChannelVectors; ++j) w[j] = Vec::load(weights + (p + s) * kNC + j * kL);
      const float* x_k = x + (p + s) * x_k_stride;
      for (int q = 0; q < kPixels; ++q) {
        const Reg xq = Vec::broadcast(x_k + q * x_pixel_stride);
        for (int j = 0; j < kChannelVectors; ++j) acc[s][q][j] = Vec::fma(xq, w[j], acc[s][q][j]);
      }
    }
  }
  for (; p < k; ++p) {
    Reg w[kChannelVectors];
    for (int j = 0; j < kChannelVectors; ++j) w[j] = Vec::load(weights + p * kNC + j * kL);
    const float* x_k = x + p * x_k_stride;
    for (int q = 0; q < kPixels; ++q) {
      const Reg xq = Vec::broadcast(x_k + q * x_pixel_stride);
      for (int j = 0; j < kChannelVectors; ++j) acc[0][q][j] = Vec::fma(xq, w[j], acc[0][q][j]);
    }
  }
  for (int s = 1; s < kSplit; ++s)
    for (int q = 0; q < kPixels; ++q)
      for (int j = 0; j < kChannelVectors; ++j) acc[0][q][j] = Vec::add(acc[0][q][j], acc[s][q][j]);
  if (!step.last) {
    for (int q = 0; q < kPixels; ++q)
      for (int j = 0; j < kChannelVectors; ++j) Vec::store(partial + q * kNC + j * kL, acc[0][q][j]);
    return;
  }
  Reg b[kChannelVectors];
  for (int j = 0; j < kChannelVectors; ++j) b[j] = bias ? Vec::load(bias + j * kL) : Vec::zero();
  if (y_channel_stride == 1) {
    for (int q = 0; q < kPixels; ++q) {
      float* y_q = y + q * y_pixel_stride;
      for (int j = 0; j < kChannelVectors; ++j) {
        const Reg v = act(Vec::add(acc[0][q][j], b[j]));
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
  if (y_pixel_stride == 1) {
    // NCHW: each channel's pixels are consecutive. The tile is turned in registers, kL pixels × kL
    // channels at a time, and each channel leaves as one vector store. (Element by element through a
    // buffer, the same stores made 14² 256→1024 and 7² 320→1280 about 6% slower on AVX-512.)
    for (int q0 = 0; q0 < kPixels; q0 += kL) {
      const int count = kPixels - q0 < kL ? kPixels - q0 : kL;
      for (int j = 0; j < kChannelVectors && j * kL < channels; ++j) {
        Reg block[kL];
        for (int i = 0; i < kL; ++i) {
          block[i] = q0 + i < kPixels ? act(Vec::add(acc[0][q0 + i][j], b[j])) : Vec::zero();
        }
        Vec::transpose(block);
        const int lanes = channels - j * kL < kL ? channels - j * kL : kL;
        for (int c = 0; c < lanes; ++c) {
          float* y_c = y + (j * kL + c) * y_channel_stride + q0;
          if (count == kL) {
            Vec::store(y_c, block[c]);
          } else {
            Vec::store_partial(y_c, block[c], count);
          }
        }
      }
    }
    return;
  }
  float tile[kPixels][kNC];
  for (int q = 0; q < kPixels; ++q)
    for (int j = 0; j < kChannelVectors; ++j) Vec::store(&tile[q][j * kL], act(Vec::add(acc[0][q][j], b[j])));
  for (int c = 0; c < channels; ++c) {
    float* y_c = y + c * y_channel_stride;
    for (int q = 0; q < kPixels; ++q) y_c[q * y_pixel_stride] = tile[q][c];
  }
}

using ChannelTileFn = void (*)(const float*, const float*, const KStep&, const float*, int64_t, int64_t,
                               float*, int, float*, int64_t, int64_t, const Activation&, const float*,
                               int64_t);

// tiles[p][unit stride]: the tile of p pixels.
template <int kPixels>
struct ChannelTileTable {
  static void fill(ChannelTileFn (*table)[2]) {
    table[kPixels][0] = channel_tile<kPixels, false>;
    table[kPixels][1] = channel_tile<kPixels, true>;
    ChannelTileTable<kPixels - 1>::fill(table);
  }
};
template <>
struct ChannelTileTable<0> {
  static void fill(ChannelTileFn (*table)[2]) { table[0][0] = table[0][1] = nullptr; }
};

// NHWC puts a pixel's K inputs together, so a tile's broadcasts walk P rows K floats apart at once,
// and rows a power of two apart crowd the same L1 sets. With two tiles of pixels or more and enough
// panels to repay one copy, each pixel block is first copied tile by tile into K rows of the tile's
// pixels, which the unit-stride tiles then read as one stream, in K blocks of up to 512 (not 128:
// fewer trips through `partial`). Paired against reading X in place with K blocks of 128, AVX-512:
//   1 thread   NHWC N=32 7² 512→2048 +6.7%, N=8 7² 2048→512 +19%, N=2 14² 1024→256 +16%,
//              N=4 14² 256→1024 +5.5%, N=64 1² 2048→1000 +6 to +10%;
//   2 threads  N=32 7² 512→2048 +9.7%, N=8 7² 2048→512 +11%, N=4 14² 256→1024 +6.4%,
//              N=2 14² 1024→256 and N=64 1² 2048→1000 within ±2%.
// With 4 or 5 panels (28² 128→128, 56² 24→144) the copy cost 10–15%; K blocks of 1024 or whole
// depths lost 5–14% at K = 2048 on 64 pixels (each pass over the weights serves fewer pixels).
// NCHW tiles read `count` adjacent floats per k; copied, with the deeper K blocks, they gained where
// many panels share the copy: paired, 7² 512→2048 +5% (1 thread) and +3.4% (2), N=32 7² 512→2048
// +4.5% and +4.9%, N=16 14² 256→1024 +2.5% and +2.7%, 7² 2048→2048 +2.7%, 7² 960→1280 +3.4%. With
// 8 or 16 panels they lost (14² 1024→256 −7%, 7² 2048→512 −1%).
constexpr int64_t kCopyXMinPanels = 8;
constexpr int64_t kCopyNchwXMinPanels = 32;
constexpr int64_t kCopiedXKBlockMax = 512;

// Where block pixel p's inputs start, from b.x (see PointwiseBlock::x_row_pixels).
int64_t pixel_offset(const PointwiseBlock& b, int64_t p) {
  if (b.x_row_pixels == 0) return p * b.x_pixel_stride;
  const int64_t a = b.x_first_pixel + p;
  return a / b.x_row_pixels * b.x_row_stride + a % b.x_row_pixels * b.x_pixel_stride;
}

// Copies `count` pixels of X, pixel q's inputs starting at x + offsets[q], into K rows of `count`
// floats. NCHW rows of adjacent pixels copy as vectors; with each pixel's inputs consecutive (NHWC),
// kL pixels × kL inputs load as rows and turn in registers into kL output rows: the same copy
// element by element took 3.5% of NHWC N=32 7² 512→2048 (AVX-512, 1 thread). A grid row read at
// stride 2 gathers its even lanes; anything else goes element by element.
void copy_tile(const float* x, int64_t k_stride, const int64_t* offsets, int64_t k, int count, float* copy) {
  bool adjacent = true;
  for (int q = 1; q < count; ++q) adjacent = adjacent && offsets[q] == offsets[0] + q;
  if (adjacent) {
    const float* row = x + offsets[0];
    for (int64_t kk = 0; kk < k; ++kk) {
      for (int q0 = 0; q0 < count; q0 += kL) {
        const int n = count - q0 < kL ? count - q0 : kL;
        const float* from = row + kk * k_stride + q0;
        float* to = copy + kk * count + q0;
        if (n == kL) {
          Vec::store(to, Vec::load(from));
        } else {
          Vec::store_partial(to, Vec::load_partial(from, n), n);
        }
      }
    }
    return;
  }
  bool every_other = true;  // one grid row read at stride 2 (ResNet's stride-2 downsample)
  for (int q = 1; q < count; ++q) every_other = every_other && offsets[q] == offsets[0] + 2 * q;
  if (every_other && k_stride != 1) {
    const float* row = x + offsets[0];
    for (int64_t kk = 0; kk < k; ++kk) {
      for (int q0 = 0; q0 < count; q0 += kL) {
        const int n = count - q0 < kL ? count - q0 : kL;
        const float* from = row + kk * k_stride + 2 * q0;
        // The 2n − 1 floats from `from` hold the n wanted at even positions.
        const int span = 2 * n - 1;
        const Reg low = span >= kL ? Vec::load(from) : Vec::load_partial(from, span);
        const Reg high = span > kL ? Vec::load_partial(from + kL, span - kL) : Vec::zero();
        Vec::store_partial(copy + kk * count + q0, Vec::even_lanes(low, high), n);
      }
    }
    return;
  }
  if (k_stride != 1) {
    for (int64_t kk = 0; kk < k; ++kk) {
      for (int q = 0; q < count; ++q) copy[kk * count + q] = x[kk * k_stride + offsets[q]];
    }
    return;
  }
  for (int q0 = 0; q0 < count; q0 += kL) {
    const int pixels = count - q0 < kL ? count - q0 : kL;
    for (int64_t k0 = 0; k0 < k; k0 += kL) {
      const int depth = k - k0 < kL ? static_cast<int>(k - k0) : kL;
      Reg block[kL];
      for (int i = 0; i < kL; ++i) {
        const float* row = x + offsets[q0 + (i < pixels ? i : 0)] + k0;
        block[i] = i >= pixels ? Vec::zero() : (depth == kL ? Vec::load(row) : Vec::load_partial(row, depth));
      }
      Vec::transpose(block);
      for (int j = 0; j < depth; ++j) {
        float* out = copy + (k0 + j) * count + q0;
        if (pixels == kL) {
          Vec::store(out, block[j]);
        } else {
          Vec::store_partial(out, block[j], pixels);
        }
      }
    }
  }
}

// Copies the `count` pixels from block pixel p on, in the image whose X starts at x, into K rows of
// `count` floats.
void copy_pixels(const PointwiseBlock& b, const float* x, int64_t p, int count, float* copy) {
  int64_t offsets[kP];
  for (int q = 0; q < count; ++q) offsets[q] = pixel_offset(b, p + q);
  copy_tile(x, b.x_k_stride, offsets, b.k, count, copy);
}

// A grid of pixels without memory for a block's copy: tile by tile, K blocks of kKBlock through
// buffers on the stack, the copy made again for every panel. As correct, only slower (and a tile of
// split chains sums in another order than with the memory).
void run_grid_tiles_in_small_copies(const PointwiseBlock& b, ChannelTileFn (*tiles)[2],
                                    const Activation& act) {
  float copy[kP * kKBlock];
  float partial[kP * kNC];
  const int64_t panel_floats = (b.k + 1) * kNC;
  const int64_t panel_count = (b.channels + kNC - 1) / kNC;
  for (int64_t p = 0; p < b.pixels; p += kP) {
    const int count = static_cast<int>(min64(kP, b.pixels - p));
    int64_t offsets[kP];
    for (int q = 0; q < count; ++q) offsets[q] = pixel_offset(b, p + q);
    for (int64_t panel = 0; panel < panel_count; ++panel) {
      const float* w = b.panels + panel * panel_floats;
      const float* bias = b.add_bias ? w + b.k * kNC : nullptr;
      const int channels = static_cast<int>(min64(kNC, b.channels - panel * kNC));
      float* y = b.y + panel * kNC * b.y_channel_stride + p * b.y_pixel_stride;
      for (int64_t k0 = 0; k0 < b.k; k0 += kKBlock) {
        const KStep step = k_step(k0, kKBlock, b.k);
        copy_tile(b.x + k0 * b.x_k_stride, b.x_k_stride, offsets, step.depth, count, copy);
        tiles[count][1](w + k0 * kNC, bias, step, copy, count, 1, partial, channels, y, b.y_channel_stride,
                        b.y_pixel_stride, act, nullptr, 0);
      }
      if (b.activation == FusedActivation::Deferred) finish_stored(b, y, count, channels);
    }
  }
}

void run_channel_tiles(const PointwiseBlock& b);

// Several images as separate blocks, one after the other.
void run_images_one_by_one(const PointwiseBlock& b) {
  PointwiseBlock one = b;
  one.images = 1;
  for (int64_t i = 0; i < b.images; ++i) {
    one.x = b.x + i * b.x_image_stride;
    one.y = b.y + i * b.y_image_stride;
    run_channel_tiles(one);
  }
}

void run_channel_tiles(const PointwiseBlock& b) {
  CONV1X1_EXPECT(b.panels && b.x && b.y && b.k >= 1 && b.channels >= 1 && b.pixels >= 0 && b.images >= 1);
  CONV1X1_EXPECT(b.activation != FusedActivation::Deferred || b.finish);
  ChannelTileFn tiles[kP + 1][2];
  ChannelTileTable<kP>::fill(tiles);
  const Activation act(b);
  const int64_t panel_floats = (b.k + 1) * kNC;
  const int64_t panel_count = (b.channels + kNC - 1) / kNC;
  // A grid of pixels, or several images, is always read through the copy.
  const bool grid = b.x_row_pixels > 0;
  const bool copy_x = grid || b.images > 1 ||
                      (b.pixels >= 2 * kP &&
                       panel_count >= (b.x_pixel_stride != 1 ? kCopyXMinPanels : kCopyNchwXMinPanels));
  int64_t copy_depth = even_block_depth(b.k, kCopiedXKBlockMax);
  int64_t place_depth = k_block_depth(b.k, kChannelKBlockMax);
  int64_t block_pixels = kXBlockFloats / (copy_x ? copy_depth : place_depth) / kP * kP;
  if (block_pixels < kP) block_pixels = kP;
  // Blocks as even as possible in whole tiles (full tiles keep every lane busy); when that leaves a
  // last block of less than a tile (1009 pixels in blocks of 126: 8 × 126 + 1), evenly without
  // regard to tiles: a short last block would stream every weight for a few pixels, in tiles of
  // split chains.
  int64_t block_count = b.pixels > 0 ? (b.pixels + block_pixels - 1) / block_pixels : 0;
  int64_t tiled_size = block_count > 0 ? ((b.pixels + block_count - 1) / block_count + kP - 1) / kP * kP : 0;
  if (block_count > 1) {
    block_count = (b.pixels + tiled_size - 1) / tiled_size;
    if (b.pixels - (block_count - 1) * tiled_size < kP) tiled_size = 0;
  }
  // Block i is pixels [i·size, …) in whole tiles, else [i·N/blocks, (i + 1)·N/blocks).
  auto block_start = [&](int64_t i) {
    return tiled_size > 0 ? min64(b.pixels, i * tiled_size) : i * b.pixels / block_count;
  };
  const int64_t most_pixels = tiled_size > 0 ? min64(tiled_size, b.pixels)
                              : block_count > 0 ? (b.pixels + block_count - 1) / block_count : 0;
  // Several images go together only when each is one X block of tiles that sum in one chain (so
  // that an image's result never depends on the others); else one after the other.
  const int64_t images = b.images;
  if (images > 1 && (block_count > 1 || !one_chain_tiles(b.pixels))) {
    run_images_one_by_one(b);
    return;
  }
  // Deep products: one K block of a panel's weights stays in L1 (L2 for the copy's deeper blocks)
  // while every tile of the pixel block passes over it; the tiles' sums wait in `partial` between
  // blocks. (Without memory for it, or for the copy of X, the work is as correct, only slower.)
  // Grids and image groups read every block from the copy; others may read a block in place.
  const bool every_block_copied = grid || images > 1;
  float* partial = nullptr;
  if ((copy_x && copy_depth < b.k) || (!every_block_copied && place_depth < b.k)) {
    partial = static_cast<float*>(allocate(static_cast<size_t>(images * most_pixels) * kNC * sizeof(float)));
    if (!partial) copy_depth = place_depth = b.k;
  }
  float* x_copy = nullptr;
  if (copy_x) {
    x_copy = static_cast<float*>(allocate(static_cast<size_t>(images * most_pixels) * b.k * sizeof(float)));
  }
  if (!x_copy && (images > 1 || grid)) {
    free(partial);
    if (images > 1) {
      run_images_one_by_one(b);
    } else {
      run_grid_tiles_in_small_copies(b, tiles, act);
    }
    return;
  }
  for (int64_t block = 0; block < block_count; ++block) {
    const int64_t p0 = block_start(block), p1 = block_start(block + 1);
    const EvenTiles tiles_of_block(p1 - p0);
    const int64_t tile_count = tiles_of_block.count;
    // The copy's deeper K blocks would change the order in which a tile of split chains sums (a
    // result would then depend on the threads or the batch): such blocks read X in place.
    const bool copied = x_copy && (grid || one_chain_tiles(p1 - p0));
    const int64_t depth = copied ? copy_depth : place_depth;
    const int unit_stride = b.x_pixel_stride == 1 || copied ? 1 : 0;
    if (copied) {
      // Tile t's K rows of count(t) floats follow tile t − 1's; image i's tiles follow image i − 1's.
      for (int64_t i = 0; i < images; ++i) {
        float* copy = x_copy + i * (p1 - p0) * b.k;
        int64_t p = p0;
        for (int64_t t = 0; t < tile_count; ++t) {
          const int count = tiles_of_block.size(t);
          copy_pixels(b, b.x + i * b.x_image_stride, p, count, copy + (p - p0) * b.k);
          p += count;
        }
      }
    }
    for (int64_t panel = 0; panel < panel_count; ++panel) {
      const float* w = b.panels + panel * panel_floats;
      const float* bias = b.add_bias ? w + b.k * kNC : nullptr;
      const int channels = static_cast<int>(min64(kNC, b.channels - panel * kNC));
      float* y = b.y + panel * kNC * b.y_channel_stride;
      for (int64_t k0 = 0; k0 < b.k; k0 += depth) {
        // The weights the next K block will read: this panel's next block, or the next panel's first.
        const bool last_block = k0 + depth >= b.k;
        const float* next_weights = last_block && panel + 1 == panel_count ? nullptr
                                    : last_block                           ? w + panel_floats
                                                                           : w + (k0 + depth) * kNC;
        const int64_t next_depth = last_block ? depth : min64(depth, b.k - k0 - depth);
        const KStep step = k_step(k0, depth, b.k);
        for (int64_t i = 0; i < images; ++i) {
          const int64_t before = i * (p1 - p0);  // pixels of the images before this one, in the block
          float* y_i = y + i * b.y_image_stride;
          int64_t p = p0;
          for (int64_t t = 0; t < tile_count; ++t) {
            const int count = tiles_of_block.size(t);
            // The tile's X: in the copy, K rows of `count` pixels; else where the caller keeps it.
            const float* x = copied ? x_copy + (before + p - p0) * b.k + k0 * count
                                    : b.x + k0 * b.x_k_stride + p * b.x_pixel_stride;
            const int64_t x_k_stride = copied ? count : b.x_k_stride;
            const int64_t x_pixel_stride = copied ? 1 : b.x_pixel_stride;
            const bool first_tile = i == 0 && t == 0 && images * tile_count > 1;
            tiles[count][unit_stride](w + k0 * kNC, bias, step, x, x_k_stride, x_pixel_stride,
                                      partial ? partial + (before + p - p0) * kNC : nullptr, channels,
                                      y_i + p * b.y_pixel_stride, b.y_channel_stride, b.y_pixel_stride, act,
                                      first_tile ? next_weights : nullptr, next_depth);
            p += count;
          }
        }
      }
      if (b.activation == FusedActivation::Deferred) {
        for (int64_t i = 0; i < images; ++i) {
          finish_stored(b, y + i * b.y_image_stride + p0 * b.y_pixel_stride, p1 - p0, channels);
        }
      }
    }
  }
  free(partial);
  free(x_copy);
}

}  // namespace

const PointwiseKernels& pointwise_kernels() {
  static const PointwiseKernels kernels = {kIsaName, kPixelKernelName, kChannelKernelName, kMR, kNR,
                                           kNC, kP, run_pixel_tiles, run_channel_tiles};
  return kernels;
}

}  // namespace CONV1X1_KERNEL_ISA
}  // namespace kernels
}  // namespace conv1x1

// The builtin pointwise kernels through run_conv with packed weights, against the float64 reference,
// for every kernel set this CPU runs, both tile shapes (pixel tiles on NCHW; channel tiles on NCHW and
// NHWC) and 1 and 2 threads. The sizes come from each set's own tile numbers: output channels around
// MR and NC, pixels around NR and P, K around the K blocks, pixel counts across the X blocks, and the
// thread split by pixels and by panels. Activations, bias, groups, batch and the weight form rotate
// through the cases; the gather/scatter paths and NaN propagation have cases of their own. Every
// output buffer starts as NaN, so an output the kernels never write fails. choose_tile_shape is
// checked against its lane-use rule.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "../core/conv1x1.h"
#include "../core/error.h"
#include "../core/packed_weights.h"
#include "../core/plan.h"
#include "../core/work_split.h"
#include "../gemm/builtin_backend.h"
#include "../platform/cpu_features.h"
#include "backends_under_test.h"
#include "check.h"
#include "compare.h"
#include "counting_backend.h"
#include "random_tensor.h"
#include "reference.h"
#include "suites.h"

namespace conv1x1 {
namespace test {
namespace {

using kernels::PointwiseKernels;

// The blocking of kernels/pointwise_impl.h, mirrored here only to place cases on its edges: X blocks
// of kXBlockFloats floats / the K-block depth (both tile shapes), K blocks of about kKBlock once K >
// kPixelKBlockMax (pixel tiles) or kChannelKBlockMax (channel tiles), and the K up to which pixel
// tiles sweep one panel across the pixels.
constexpr int64_t kXBlockFloats = int64_t{64} << 10;
constexpr int64_t kKBlock = 128;
constexpr int64_t kPixelKBlockMax = 256;
constexpr int64_t kChannelKBlockMax = 128;
constexpr int64_t kPanelOuterMaxK = 64;
// Channel tiles copy X into tile rows from two tiles of pixels and this many panels of a block on
// (NHWC, NCHW), and then run K blocks of up to kCopiedXKBlockMax.
constexpr int64_t kCopyXMinPanels = 8;
constexpr int64_t kCopyNchwXMinPanels = 32;
constexpr int64_t kCopiedXKBlockMax = 512;
// packed_weights.cc: what channel tiles on NCHW lose to their transposed stores, and what pixel
// tiles on a strided convolution without padding lose to its gather.
constexpr double kTransposedStoreCost = 1.1;
constexpr double kGatherCost = 1.15;

struct ActivationCase {
  Activation activation;
  float negative_slope;
  const char* name;
};

const ActivationCase kActivations[] = {
    {Activation::None, 0.01f, "none"},
    {Activation::Relu, 0.01f, "relu"},
    {Activation::Relu6, 0.01f, "relu6"},
    {Activation::LeakyRelu, 0.01f, "leaky_relu(0.01)"},
    {Activation::LeakyRelu, -0.5f, "leaky_relu(-0.5)"},
    {Activation::Sigmoid, 0.01f, "sigmoid"},
    {Activation::Tanh, 0.01f, "tanh"},
    {Activation::Silu, 0.01f, "silu"},
    {Activation::Gelu, 0.01f, "gelu"},
    {Activation::Hardswish, 0.01f, "hardswish"},
};
constexpr int kActivationCount = sizeof(kActivations) / sizeof(kActivations[0]);

const char* shape_name(TileShape shape) {
  return shape == TileShape::Pixels ? "pixel tiles" : "channel tiles";
}

int64_t k_block_depth(TileShape shape, int64_t k) {
  if (k <= (shape == TileShape::Pixels ? kPixelKBlockMax : kChannelKBlockMax)) return k;
  const int64_t blocks = (k + kKBlock - 1) / kKBlock;
  return (k + blocks - 1) / blocks;
}

// Pixels per X block: the most columns of K-block depth that fit in kXBlockFloats, in whole tiles.
int64_t x_block_pixels(const PointwiseKernels& set, TileShape shape, int64_t k) {
  const int64_t tile = shape == TileShape::Pixels ? set.pixel_tile_width : set.channel_tile_pixels;
  const int64_t depth = k_block_depth(shape, k);
  return std::max(tile, kXBlockFloats / depth / tile * tile);
}

// Pixels per X block of channel tiles at a depth they run in one K block (≤ kChannelKBlockMax in
// place, ≤ kCopiedXKBlockMax from a copy): kXBlockFloats / depth, in whole tiles.
int64_t unblocked_channel_x_block(const PointwiseKernels& set, int64_t depth) {
  const int64_t p = set.channel_tile_pixels;
  return std::max(p, kXBlockFloats / depth / p * p);
}

// 1, w − 1, w, w + 1, 2w − 1, 2w + 1: one tile short, whole, one over, and the same a tile further.
void add_edges_around(int64_t w, std::vector<int64_t>* values) {
  for (int64_t v : {int64_t{1}, w - 1, w, w + 1, 2 * w - 1, 2 * w + 1}) {
    if (v >= 1) values->push_back(v);
  }
}

void sort_unique(std::vector<int64_t>* values) {
  std::sort(values->begin(), values->end());
  values->erase(std::unique(values->begin(), values->end()), values->end());
}

// A kernel set's tile edges, from its own numbers.
struct Edges {
  std::vector<int64_t> channels;  // output channels per group
  std::vector<int64_t> pixels;
  std::vector<int64_t> depths;  // K = input channels per group
};

Edges edges_of(const PointwiseKernels& set) {
  Edges e;
  add_edges_around(set.pixel_panel_width, &e.channels);
  add_edges_around(set.channel_panel_width, &e.channels);
  const int64_t nr = set.pixel_tile_width, p = set.channel_tile_pixels;
  e.pixels = {1, nr - 1, nr, nr + 1, 2 * nr + 1, p - 1, p, p + 1, 2 * p + 1};
  e.pixels.erase(std::remove(e.pixels.begin(), e.pixels.end(), 0), e.pixels.end());
  // Pixel tiles: K ≤ kPixelKBlockMax is one block, kPixelKBlockMax + 1 is 3 blocks of 86; channel
  // tiles: K ≤ kChannelKBlockMax is one block, kChannelKBlockMax + 1 is 2 of 65; 384 is 3 of 128,
  // 385 is 4 of 97.
  e.depths = {1,           2,               kPanelOuterMaxK,     kPanelOuterMaxK + 1,
              kKBlock - 1, kKBlock,         kKBlock + 1,         kChannelKBlockMax - 1,
              kChannelKBlockMax, kChannelKBlockMax + 1, kPixelKBlockMax - 1, kPixelKBlockMax,
              kPixelKBlockMax + 1, 3 * kKBlock, 3 * kKBlock + 1};
  sort_unique(&e.channels);
  sort_unique(&e.pixels);
  sort_unique(&e.depths);
  return e;
}

std::string describe(const ConvParams& p, bool with_bias, const char* activation) {
  return "N" + std::to_string(p.batch) + " Cin" + std::to_string(p.in_channels) + " Cout" +
         std::to_string(p.out_channels) + " groups " + std::to_string(p.groups) + " (K " +
         std::to_string(p.in_channels / p.groups) + ", " + std::to_string(p.out_channels / p.groups) +
         " out per group) H" + std::to_string(p.height) + " W" + std::to_string(p.width) +
         " stride " + std::to_string(p.stride_h) + "×" + std::to_string(p.stride_w) + " pad " +
         std::to_string(p.pad_h) + "×" + std::to_string(p.pad_w) +
         (p.layout == Layout::NCHW ? " NCHW " : " NHWC ") + activation +
         (with_bias ? " bias" : " no bias");
}

// Whether the kernels' allocations fail from now on: they can only in builds with checked contracts
// (the native tests' own build); elsewhere (the addon's CMake build of these tests) the cases that
// ask for it run with memory like any other.
void deny_allocations(bool deny) {
#if defined(CONV1X1_CHECK_CONTRACTS)
  kernels::deny_kernel_allocations = deny;
#else
  (void)deny;
#endif
}

// The parameters of one case, before the data.
struct CaseSpec {
  int64_t batch = 1, groups = 1, depth = 1, group_channels = 1, height = 1, width = 1;
  int64_t stride = 1, pad = 0;
  Layout layout = Layout::NCHW;
  const ActivationCase* activation = &kActivations[0];
  bool with_bias = true;
  bool pretransposed = false;  // NHWC only: the weights handed over as W_gᵀ
  float spread = 1.0f;         // inputs and bias in [−spread, spread]
  bool deny_allocations = false;  // the kernels run without their working memory

  ConvParams params() const {
    ConvParams p;
    p.batch = batch;
    p.in_channels = groups * depth;
    p.out_channels = groups * group_channels;
    p.groups = groups;
    p.height = height;
    p.width = width;
    p.stride_h = p.stride_w = stride;
    p.pad_h = p.pad_w = pad;
    p.layout = layout;
    p.activation = activation->activation;
    p.negative_slope = activation->negative_slope;
    return p;
  }
};

struct CaseData {
  std::vector<float> input, weight, bias;  // bias empty: none
};

struct SetStats {
  long cases = 0, runs = 0;
  double max_error_ratio = 0.0;
};

class PointwiseSuite {
 public:
  void run();

 private:
  CaseData random_data(const CaseSpec& spec);
  void check_case(const CaseSpec& spec) { check_data(spec, random_data(spec)); }
  // One case on every tile shape its layout allows, at 1 and 2 threads.
  void check_data(const CaseSpec& spec, const CaseData& data);
  // Fills the rotated parameters of the `counter`-th case of a sweep.
  static void rotate(CaseSpec* spec, int counter);

  void sweep_tile_edges();
  void sweep_depths();
  void sweep_x_blocks();
  void sweep_x_tile_copies();
  void sweep_channel_x_copies();
  void sweep_strided_copies();
  void sweep_image_groups();
  void check_batch_bits();
  void sweep_thread_split();
  void sweep_activations();
  void sweep_gather_paths();
  void check_nan_propagation();
  void check_tile_shape_choice();
  void print_summary() const;

  const PointwiseKernels* set_ = nullptr;  // the kernel set under test
  Edges edges_;
  std::vector<const PointwiseKernels*> sets_ = supported_pointwise_kernels();
  std::vector<SetStats> stats_ = std::vector<SetStats>(sets_.size());
  SetStats* set_stats_ = nullptr;
  // run_conv needs a GEMM backend; with packed weights it must never call it.
  BuiltinBackend builtin_{detect_simd_level()};
  CountingBackend unused_gemm_{builtin_};
  std::mt19937 rng_{1717};
};

CaseData PointwiseSuite::random_data(const CaseSpec& spec) {
  const ConvPlan plan = make_plan(spec.params());
  CaseData data;
  data.input = random_floats(plan.input_elements, spec.spread, rng_);
  data.weight = random_floats(plan.weight_elements, 1.0f, rng_);
  if (spec.with_bias) data.bias = random_floats(spec.params().out_channels, spec.spread, rng_);
  return data;
}

void PointwiseSuite::rotate(CaseSpec* spec, int counter) {
  spec->activation = &kActivations[counter % kActivationCount];
  spec->with_bias = counter % 3 != 2;
  spec->pretransposed = spec->layout == Layout::NHWC && counter % 4 >= 2;
  // Groups cycle over 7 cases, coprime with the other cycles.
  spec->groups = 1 + (counter % 7) % 3;
}

void PointwiseSuite::check_data(const CaseSpec& spec, const CaseData& data) {
  const ConvParams p = spec.params();
  const std::string what = describe(p, spec.with_bias, spec.activation->name);
  ConvPlan plan;
  try {
    plan = make_plan(p);
  } catch (const Error& e) {
    check(false, what + ": make_plan threw " + e.what());
    return;
  }
  const float* bias = data.bias.empty() ? nullptr : data.bias.data();
  const ReferenceOutput reference = reference_conv(p, data.input, data.weight, bias);
  // With K = 1, W_gᵀ is laid out as W_g and pretranspose_weights returns nothing.
  const std::vector<float> transposed =
      spec.pretransposed ? pretranspose_weights(plan, data.weight.data()) : std::vector<float>();
  const bool pretransposed = !transposed.empty();
  const float* weight = pretransposed ? transposed.data() : data.weight.data();

  ++set_stats_->cases;
  std::vector<float> output(static_cast<size_t>(plan.output_elements));
  std::vector<TileShape> shapes = {TileShape::Channels};
  // Pixel tiles read pixels along rows: NCHW only.
  if (p.layout == Layout::NCHW) shapes.insert(shapes.begin(), TileShape::Pixels);
  for (TileShape shape : shapes) {
    for (int threads : {1, 2}) {
      const std::string where = std::string("pointwise ") + set_->isa + " " + shape_name(shape) +
                                ", " + (threads == 1 ? "1 thread" : std::to_string(threads) + " threads") +
                                ": " + what +
                                (pretransposed ? ", weights pretransposed" : "");
      std::fill(output.begin(), output.end(), std::nanf(""));
      unused_gemm_.reset();
      try {
        const PackedWeights packed = pack_weights(plan, weight, pretransposed, bias, *set_, shape);
        ConvTensors tensors;
        tensors.input = data.input.data();
        tensors.weight = weight;
        tensors.weight_pretransposed = pretransposed;
        tensors.bias = bias;
        tensors.output = output.data();
        tensors.packed = &packed;
        deny_allocations(spec.deny_allocations);
        run_conv(plan, tensors, unused_gemm_, threads);
        deny_allocations(false);
      } catch (const std::exception& e) {
        deny_allocations(false);
        check(false, where + ": threw " + e.what());
        continue;
      }
      const Comparison comparison = compare_to_reference(output, reference);
      check(comparison.ok, where + ": " + comparison.first_mismatch);
      check(unused_gemm_.calls() == 0, where + ": called the GEMM backend " +
                                           std::to_string(unused_gemm_.calls()) + " times");
      set_stats_->max_error_ratio = std::max(set_stats_->max_error_ratio, comparison.max_error_ratio);
      ++set_stats_->runs;
    }
  }
}

// Every output-channel edge against every pixel edge, in both layouts; K, groups, activation, bias
// and the weight form rotate.
void PointwiseSuite::sweep_tile_edges() {
  int counter = 0;
  for (Layout layout : {Layout::NCHW, Layout::NHWC}) {
    for (int64_t channels : edges_.channels) {
      for (int64_t pixels : edges_.pixels) {
        CaseSpec spec;
        spec.layout = layout;
        rotate(&spec, counter);
        spec.group_channels = channels;
        spec.depth = edges_.depths[counter % edges_.depths.size()];
        // Pixels as a row or a column of the image, and for NCHW over two images now and then.
        spec.height = counter % 2 ? pixels : 1;
        spec.width = counter % 2 ? 1 : pixels;
        spec.batch = layout == Layout::NCHW && counter % 5 == 0 ? 2 : 1;
        check_case(spec);
        ++counter;
      }
    }
  }
}

// Every K around the K blocks with tiles partial in both directions, for each tile shape.
void PointwiseSuite::sweep_depths() {
  const int64_t mr = set_->pixel_panel_width, nr = set_->pixel_tile_width;
  const int64_t nc = set_->channel_panel_width, tile_pixels = set_->channel_tile_pixels;
  const int64_t shapes[][2] = {{mr + 1, nr + 1}, {2 * nc - 1, 2 * tile_pixels + 1}};
  int counter = 0;
  for (Layout layout : {Layout::NCHW, Layout::NHWC}) {
    for (int64_t depth : edges_.depths) {
      for (const auto& shape : shapes) {
        CaseSpec spec;
        spec.layout = layout;
        rotate(&spec, counter + 3);
        spec.depth = depth;
        spec.group_channels = shape[0];
        spec.width = shape[1];
        check_case(spec);
        ++counter;
      }
    }
  }
}

// Tile-outer pixel tiles (K > kPanelOuterMaxK) copy each X tile to dense rows when X's rows are a
// multiple of 64 floats apart: 1×64, 2×64 and 1×128 images, against a 1×80 one that is read in
// place, with partial panels and at K around the K blocks.
void PointwiseSuite::sweep_x_tile_copies() {
  const int64_t mr = set_->pixel_panel_width;
  const int64_t shapes[][3] = {  // output channels, height, width
      {mr + 1, 1, 64}, {2 * mr - 1, 2, 64}, {3, 1, 128}, {4 * mr + 3, 1, 128}, {mr + 1, 1, 80}};
  const int64_t depths[] = {kPanelOuterMaxK + 1, kKBlock + 3, kPixelKBlockMax, kPixelKBlockMax + 1};
  int counter = 0;
  for (int64_t depth : depths) {
    for (const auto& shape : shapes) {
      CaseSpec spec;
      rotate(&spec, counter);
      spec.groups = 1;
      spec.depth = depth;
      spec.group_channels = shape[0];
      spec.height = shape[1];
      spec.width = shape[2];
      check_case(spec);
      ++counter;
    }
  }
}

// Pixel counts one short of, at and one past an X block (for pixel tiles and for channel tiles, at
// every K): pixel tiles' last block then holds a single pixel, channel tiles cut the pixels into two
// even blocks; deferred activations run per block.
void PointwiseSuite::sweep_x_blocks() {
  // Few output channels (partial panels of both shapes): the pixel count is what matters here.
  const int64_t channel_cycle[] = {1, set_->pixel_panel_width - 1, set_->pixel_panel_width + 1};
  int counter = 0;
  for (Layout layout : {Layout::NCHW, Layout::NHWC}) {
    for (int64_t depth : edges_.depths) {
      std::vector<int64_t> pixel_counts;
      for (TileShape shape : {TileShape::Pixels, TileShape::Channels}) {
        if (shape == TileShape::Pixels && layout == Layout::NHWC) continue;
        const int64_t block = x_block_pixels(*set_, shape, depth);
        for (int64_t pixels : {block - 1, block, block + 1}) pixel_counts.push_back(pixels);
      }
      sort_unique(&pixel_counts);
      for (int64_t pixels : pixel_counts) {
        CaseSpec spec;
        spec.layout = layout;
        rotate(&spec, counter);
        spec.groups = 1;
        spec.depth = depth;
        spec.group_channels = channel_cycle[counter % 3];
        spec.width = pixels;
        check_case(spec);
        ++counter;
      }
    }
  }
}

// Channel tiles with enough panels (kCopyXMinPanels on NHWC, kCopyNchwXMinPanels on NCHW) and two
// tiles of pixels read X from a copy in tile rows: panel counts one short of and at the threshold
// (a partial last panel), pixel counts around it, K one past the in-place and the copied K blocks,
// groups, and on NHWC pixel counts over two and three X blocks. (At 2 threads a block may hold half
// the panels and read X in place.)
void PointwiseSuite::sweep_channel_x_copies() {
  const int64_t nc = set_->channel_panel_width, p = set_->channel_tile_pixels;
  const int64_t pixel_counts[] = {p + 1, 2 * p - 1, 2 * p, 3 * p + 1};
  const int64_t depths[] = {5, kChannelKBlockMax + 1, kCopiedXKBlockMax + 1};
  int counter = 0;
  for (Layout layout : {Layout::NHWC, Layout::NCHW}) {
    const int64_t panels = layout == Layout::NHWC ? kCopyXMinPanels : kCopyNchwXMinPanels;
    const int64_t channel_counts[] = {(panels - 1) * nc, (panels - 1) * nc + 1, panels * nc};
    for (int64_t depth : depths) {
      for (int64_t channels : channel_counts) {
        for (int64_t pixels : pixel_counts) {
          CaseSpec spec;
          spec.layout = layout;
          rotate(&spec, counter);
          spec.depth = depth;
          spec.group_channels = channels;
          spec.height = counter % 2 ? pixels : 1;
          spec.width = counter % 2 ? 1 : pixels;
          check_case(spec);
          ++counter;
        }
      }
    }
  }
  const int64_t depth = kChannelKBlockMax + 1;  // one K block from the copy
  const int64_t block = unblocked_channel_x_block(*set_, depth);
  for (int64_t pixels : {block + 1, 2 * block + 1}) {
    CaseSpec spec;
    spec.layout = Layout::NHWC;
    rotate(&spec, counter);
    spec.groups = 1;
    spec.depth = depth;
    spec.group_channels = kCopyXMinPanels * nc - 1;
    spec.width = pixels;
    check_case(spec);
    ++counter;
  }
}

// Strided convolutions without padding on NCHW channel tiles copy what they read from the input
// itself, a stride-2 row as vectors and anything else element by element: strides 2 and 3, tiles
// across grid rows, outputs over two X blocks; and every path that can lose its working memory
// without it (the strided copy tile by tile on the stack, NHWC and NCHW reading X in place, deep K
// without `partial`).
void PointwiseSuite::sweep_strided_copies() {
  const int64_t p = set_->channel_tile_pixels, nc = set_->channel_panel_width;
  const int64_t deep = kChannelKBlockMax + 1;  // one K block from the copy
  const int64_t block = unblocked_channel_x_block(*set_, deep);
  struct Case {
    Layout layout;
    int64_t stride, out_height, out_width, depth, channels;
    bool deny;
  };
  const Case cases[] = {
      {Layout::NCHW, 2, 1, 2 * p + 1, 5, nc + 1, false},
      {Layout::NCHW, 2, 3, p + 1, deep, 2 * nc - 1, false},
      {Layout::NCHW, 3, 2, p + 3, 7, nc, false},
      {Layout::NCHW, 2, 2, block / 2 + 1, deep, nc + 3, false},
      {Layout::NCHW, 2, 3, p + 1, 2 * kKBlock + 3, nc + 1, true},
      {Layout::NCHW, 3, 2, 2 * p + 1, 5, 2, true},
      {Layout::NCHW, 1, 1, 3 * p + 1, 3 * kKBlock + 1, nc + 1, true},
      {Layout::NHWC, 1, 1, 3 * p + 1, kCopiedXKBlockMax + 1, kCopyXMinPanels * nc, true},
  };
  int counter = 0;
  for (const Case& c : cases) {
    CaseSpec spec;
    spec.layout = c.layout;
    rotate(&spec, counter);
    spec.groups = 1 + counter % 2;
    spec.depth = c.depth;
    spec.group_channels = c.channels;
    spec.stride = c.stride;
    spec.height = c.stride * (c.out_height - 1) + 1;
    spec.width = c.stride * (c.out_width - 1) + 1;
    spec.deny_allocations = c.deny;
    check_case(spec);
    ++counter;
  }
}

// NCHW channel tiles on a batch of small images put several images in one block: batches that split
// unevenly into blocks, deep K (sums in `partial` per image), a deferred activation, an image larger
// than an X block (the images then run one by one), and no memory for the copy.
void PointwiseSuite::sweep_image_groups() {
  const int64_t p = set_->channel_tile_pixels, nc = set_->channel_panel_width;
  const int64_t deep = kChannelKBlockMax + 1;  // one K block from the copy
  const int64_t block = unblocked_channel_x_block(*set_, deep);
  struct Case {
    int64_t batch, height, width, depth, channels;
    int activation;  // index into kActivations
    bool deny;
  };
  const Case cases[] = {
      {5, 3, 3, 7, nc + 1, 1, false},
      {3, 2, p + 1, kCopiedXKBlockMax + 1, 2 * nc - 1, 0, false},
      {4, 1, 2 * p + 1, 5, nc, 6, false},
      {3, 1, block + 3, deep, nc + 2, 2, false},
      {3, 2, p, 9, nc + 1, 0, true},
  };
  int counter = 0;
  for (const Case& c : cases) {
    CaseSpec spec;
    spec.layout = Layout::NCHW;
    rotate(&spec, counter);
    spec.activation = &kActivations[c.activation];
    spec.batch = c.batch;
    spec.height = c.height;
    spec.width = c.width;
    spec.depth = c.depth;
    spec.group_channels = c.channels;
    spec.deny_allocations = c.deny;
    check_case(spec);
    ++counter;
  }
}

// Channel tiles on NCHW give each image the same bits whether it runs alone or in a batch, on 1
// thread or 2: images grouped into blocks (read from a copy, in the copy's K blocks) must sum in the
// same order as an image alone (read in place, in K blocks of about 128).
void PointwiseSuite::check_batch_bits() {
  const int64_t nc = set_->channel_panel_width;
  // {batch, side, K, output channels}: deep K in place (several K blocks) but one K block copied.
  const int64_t shapes[][4] = {{5, 7, kChannelKBlockMax + 1, 2 * nc + 1}, {4, 3, 2 * kKBlock + 3, nc}};
  for (const auto& shape : shapes) {
    CaseSpec spec;
    spec.layout = Layout::NCHW;
    spec.batch = shape[0];
    spec.height = spec.width = shape[1];
    spec.depth = shape[2];
    spec.group_channels = shape[3];
    spec.activation = &kActivations[1];
    const CaseData data = random_data(spec);
    const ConvPlan plan = make_plan(spec.params());
    const PackedWeights packed =
        pack_weights(plan, data.weight.data(), false, data.bias.data(), *set_, TileShape::Channels);
    CaseSpec one = spec;
    one.batch = 1;
    const ConvPlan one_plan = make_plan(one.params());
    const int64_t image_in = plan.input_elements / spec.batch, image_out = plan.output_elements / spec.batch;
    for (int threads : {1, 2}) {
      std::vector<float> together(static_cast<size_t>(plan.output_elements));
      ConvTensors tensors;
      tensors.input = data.input.data();
      tensors.weight = data.weight.data();
      tensors.bias = data.bias.data();
      tensors.output = together.data();
      tensors.packed = &packed;
      run_conv(plan, tensors, unused_gemm_, threads);
      for (int64_t n = 0; n < spec.batch; ++n) {
        std::vector<float> alone(static_cast<size_t>(image_out));
        tensors.input = data.input.data() + n * image_in;
        tensors.output = alone.data();
        run_conv(one_plan, tensors, unused_gemm_, 1);
        const bool same = std::equal(alone.begin(), alone.end(), together.begin() + n * image_out);
        check(same, std::string("pointwise ") + set_->isa + " channel tiles: image " + std::to_string(n) +
                        " of " + describe(spec.params(), true, "relu") + " on " + std::to_string(threads) +
                        " thread(s) differs from the same image alone");
      }
    }
  }
}

// Work large enough for run_packed to cut one (image, group) in two for 2 threads: by pixels when
// there are several tiles per thread, by panels when there are not.
void PointwiseSuite::sweep_thread_split() {
  const int64_t widest_panel = std::max(set_->pixel_panel_width, set_->channel_panel_width);
  const int64_t widest_tile = std::max(set_->pixel_tile_width, set_->channel_tile_pixels);
  const int64_t narrowest_tile = std::min(set_->pixel_tile_width, set_->channel_tile_pixels);
  // {output channels, pixels}: many pixels and channels over one panel; few pixels, several panels.
  const int64_t shapes[][2] = {{widest_panel + 1, 4 * widest_tile + 1},
                               {2 * widest_panel + 1, narrowest_tile + 1}};
  int counter = 0;
  for (Layout layout : {Layout::NCHW, Layout::NHWC}) {
    for (const auto& shape : shapes) {
      CaseSpec spec;
      spec.layout = layout;
      rotate(&spec, counter + 5);
      spec.groups = 1;
      spec.group_channels = shape[0];
      spec.width = shape[1];
      // Twice the work of the smallest piece worth a thread, and one more: two pieces.
      spec.depth = 2 * kMinPieceMacs / (shape[0] * shape[1]) + 1;
      check_case(spec);
      ++counter;
    }
  }
}

// Every activation with and without bias, on pre-activations wide enough to cross relu6's 6 and
// hardswish's ±3, on tiles partial in both directions.
void PointwiseSuite::sweep_activations() {
  int counter = 0;
  for (Layout layout : {Layout::NCHW, Layout::NHWC}) {
    for (const ActivationCase& activation : kActivations) {
      for (bool with_bias : {true, false}) {
        CaseSpec spec;
        spec.layout = layout;
        rotate(&spec, counter);
        spec.activation = &activation;
        spec.with_bias = with_bias;
        spec.spread = 4.0f;
        spec.depth = edges_.depths[(counter * 5) % edges_.depths.size()];
        spec.group_channels = edges_.channels[counter % edges_.channels.size()];
        spec.width = edges_.pixels[(counter * 3) % edges_.pixels.size()];
        spec.batch = 2;
        check_case(spec);
        ++counter;
      }
    }
  }
}

// Stride 2 (the product over gathered pixels, epilogue fused) and padding 1 (the bare product into a
// scratch panel, scattered, then bias and activation over every output): output extents on the edges.
void PointwiseSuite::sweep_gather_paths() {
  const int64_t nr = set_->pixel_tile_width, tile_pixels = set_->channel_tile_pixels;
  // Inner output images (rows × columns).
  const int64_t inner_images[][2] = {{1, nr + 1}, {3, tile_pixels + 1}, {2, nr - 1}};
  int counter = 0;
  for (Layout layout : {Layout::NCHW, Layout::NHWC}) {
    for (int64_t stride_or_pad : {0, 1}) {
      for (const auto& image : inner_images) {
        CaseSpec spec;
        spec.layout = layout;
        rotate(&spec, counter + 1);
        spec.batch = 2;
        spec.spread = 2.0f;
        spec.depth = edges_.depths[(counter * 7) % edges_.depths.size()];
        spec.group_channels = edges_.channels[(counter * 5) % edges_.channels.size()];
        if (stride_or_pad == 0) {
          spec.stride = 2;
          spec.height = 2 * image[0] - 1;
          spec.width = 2 * image[1] - 1;
        } else {
          spec.pad = 1;
          spec.height = image[0];
          spec.width = image[1];
        }
        check_case(spec);
        ++counter;
      }
    }
  }
}

// NaN in the input reaches exactly the outputs that read it (and through every activation), never a
// neighbouring pixel of the same tile, another group or the padding border; a NaN weight, exactly its
// output channel.
void PointwiseSuite::check_nan_propagation() {
  const int64_t mr = set_->pixel_panel_width, nr = set_->pixel_tile_width;
  const int64_t nc = set_->channel_panel_width, tile_pixels = set_->channel_tile_pixels;
  int counter = 0;
  for (Layout layout : {Layout::NCHW, Layout::NHWC}) {
    for (const ActivationCase& activation : kActivations) {
      CaseSpec spec;
      spec.layout = layout;
      rotate(&spec, counter);
      spec.activation = &activation;
      spec.batch = 2;
      spec.groups = 2;
      spec.depth = counter % 2 ? kPixelKBlockMax + 1 : 3;
      spec.group_channels = counter % 2 ? mr + 1 : nc + 1;
      spec.width = counter % 2 ? tile_pixels + 1 : nr + 1;
      spec.pad = counter % 3 == 0 ? 1 : 0;
      CaseData data = random_data(spec);
      const size_t last = data.input.size() - 1;
      for (size_t i : {size_t{0}, last / 2 + 1, last}) data.input[i] = std::nanf("");
      if (counter % 2) data.weight[data.weight.size() / 4] = std::nanf("");
      const ReferenceOutput reference =
          reference_conv(spec.params(), data.input, data.weight,
                         data.bias.empty() ? nullptr : data.bias.data());
      int64_t nan_outputs = 0;
      for (double v : reference.value) nan_outputs += std::isnan(v);
      check(nan_outputs > 0 && nan_outputs < static_cast<int64_t>(reference.value.size()),
            std::string("pointwise ") + set_->isa + ": " +
                describe(spec.params(), spec.with_bias, activation.name) +
                ": the NaN case reaches some outputs but not all (" + std::to_string(nan_outputs) +
                ")");
      check_data(spec, data);
      ++counter;
    }
  }
}

// The fraction of lanes a tiling keeps busy along an extent, as packed_weights.cc computes it.
double lane_use(int64_t extent, int64_t tile) {
  const int64_t tiles = (extent + tile - 1) / tile;
  return tiles == 0 ? 1.0 : static_cast<double>(extent) / static_cast<double>(tiles * tile);
}

TileShape expected_nchw_shape(const ConvPlan& plan, const PointwiseKernels& set) {
  const int64_t channels = plan.out_channels_per_group, pixels = plan.inner_pixels();
  const double channel_tiles = lane_use(channels, set.channel_panel_width);
  const double pixel_tiles =
      lane_use(pixels, set.pixel_tile_width) * lane_use(channels, set.pixel_panel_width);
  return channel_tiles * (plan.strided_without_border() ? kGatherCost : 1.0) > pixel_tiles * kTransposedStoreCost
             ? TileShape::Channels
             : TileShape::Pixels;
}

// NHWC always takes channel tiles; NCHW the shape that keeps more lanes busy. The AVX-512 set's
// choices on ResNet-style layers are spelled out: channel tiles for 7×7 and 14×14 with 512 outputs
// and for the stride-2 downsample 56² 256→512 (no gather), pixel tiles for 56×56 64→256, for 8×8
// 16→16 (two channel panels' lanes half empty) and for a stride-2 layer with 16 outputs.
void PointwiseSuite::check_tile_shape_choice() {
  struct Layer {
    int64_t in_channels, out_channels, height, width, groups, pad, stride;
    bool avx512_channels;  // the AVX-512 set's choice for NCHW: channel tiles
  };
  const Layer layers[] = {
      {512, 512, 7, 7, 1, 0, 1, true},      {256, 512, 14, 14, 1, 0, 1, true},
      {64, 256, 56, 56, 1, 0, 1, false},    {16, 16, 8, 8, 1, 0, 1, false},
      {32, 64, 1, 1, 1, 0, 1, true},        {64, 48, 28, 28, 2, 0, 1, false},
      {24, 96, 5, 5, 1, 1, 1, true},        {3, 8, 224, 224, 1, 0, 1, false},
      {256, 512, 56, 56, 1, 0, 2, true},    {64, 16, 56, 56, 1, 0, 2, false},
  };
  for (const PointwiseKernels* set : sets_) {
    for (const Layer& layer : layers) {
      for (Layout layout : {Layout::NCHW, Layout::NHWC}) {
        ConvParams p;
        p.batch = 1;
        p.in_channels = layer.in_channels;
        p.out_channels = layer.out_channels;
        p.height = layer.height;
        p.width = layer.width;
        p.groups = layer.groups;
        p.pad_h = p.pad_w = layer.pad;
        p.stride_h = p.stride_w = layer.stride;
        p.layout = layout;
        const ConvPlan plan = make_plan(p);
        const TileShape chosen = choose_tile_shape(plan, *set);
        TileShape expected =
            layout == Layout::NHWC ? TileShape::Channels : expected_nchw_shape(plan, *set);
        const std::string what = std::string("choose_tile_shape on ") + set->isa + ", " +
                                 describe(p, false, "none") + ": " + shape_name(chosen);
        check(chosen == expected, what + ", expected " + shape_name(expected));
        if (layout == Layout::NCHW && std::string(set->isa) == "avx512f") {
          expected = layer.avx512_channels ? TileShape::Channels : TileShape::Pixels;
          check(chosen == expected, what + ", expected " + shape_name(expected) + " on AVX-512");
        }
      }
    }
  }
}

void PointwiseSuite::print_summary() const {
  std::string line = "pointwise kernels at their tile edges:";
  for (size_t i = 0; i < sets_.size(); ++i) {
    char part[160];
    std::snprintf(part, sizeof part, "%s %s %ld cases (%ld runs), max error %.3f of tolerance",
                  i == 0 ? "" : ";", sets_[i]->isa, stats_[i].cases, stats_[i].runs,
                  stats_[i].max_error_ratio);
    line += part;
  }
  std::printf("%s\n", line.c_str());
}

void PointwiseSuite::run() {
  for (size_t i = 0; i < sets_.size(); ++i) {
    set_ = sets_[i];
    set_stats_ = &stats_[i];
    edges_ = edges_of(*set_);
    sweep_tile_edges();
    sweep_depths();
    sweep_x_blocks();
    sweep_x_tile_copies();
    sweep_channel_x_copies();
    sweep_strided_copies();
    sweep_image_groups();
    check_batch_bits();
    sweep_thread_split();
    sweep_activations();
    sweep_gather_paths();
    check_nan_propagation();
  }
  check_tile_shape_choice();
  print_summary();
}

}  // namespace

void run_pointwise_tests() {
  PointwiseSuite suite;
  suite.run();
}

}  // namespace test
}  // namespace conv1x1

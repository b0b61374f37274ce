// run_conv against the float64 reference on every backend: sizes just below, at and above each tile
// edge, every stride/padding/groups/layout combination, every activation, the K and N cache blocks,
// the thread split, and NaN propagation. Every output buffer starts as NaN, so a value the core never
// writes (β = 0 not honoured, a skipped border) fails.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "../core/conv1x1.h"
#include "../core/error.h"
#include "../core/plan.h"
#include "backends_under_test.h"
#include "check.h"
#include "compare.h"
#include "random_tensor.h"
#include "reference.h"
#include "suites.h"

namespace conv1x1 {
namespace test {
namespace {

const Activation kActivations[] = {Activation::None,    Activation::Relu,     Activation::Relu6,
                                   Activation::LeakyRelu, Activation::Sigmoid, Activation::Tanh,
                                   Activation::Silu,    Activation::Gelu,     Activation::Hardswish};
constexpr int kActivationCount = sizeof(kActivations) / sizeof(kActivations[0]);

// Tile edges of the builtin kernels (MR = 6 rows; NR = 8, 16 or 32 columns) and one past the last.
const int64_t kTileEdges[] = {1, 5, 6, 7, 8, 9, 15, 16, 17, 31, 32, 33, 64, 65};

const char* activation_name(Activation activation) {
  switch (activation) {
    case Activation::None: return "none";
    case Activation::Relu: return "relu";
    case Activation::Relu6: return "relu6";
    case Activation::LeakyRelu: return "leaky_relu";
    case Activation::Sigmoid: return "sigmoid";
    case Activation::Tanh: return "tanh";
    case Activation::Silu: return "silu";
    case Activation::Gelu: return "gelu";
    case Activation::Hardswish: return "hardswish";
  }
  return "?";
}

std::string describe(const ConvParams& p, bool with_bias) {
  std::string text = "N" + std::to_string(p.batch) + " Cin" + std::to_string(p.in_channels) +
                     " Cout" + std::to_string(p.out_channels) + " H" + std::to_string(p.height) +
                     " W" + std::to_string(p.width) + " stride " + std::to_string(p.stride_h) +
                     "×" + std::to_string(p.stride_w) + " pad " + std::to_string(p.pad_h) + "×" +
                     std::to_string(p.pad_w) + " groups " + std::to_string(p.groups) +
                     (p.layout == Layout::NCHW ? " NCHW " : " NHWC ") +
                     activation_name(p.activation);
  if (p.activation == Activation::LeakyRelu) text += "(" + std::to_string(p.negative_slope) + ")";
  return text + (with_bias ? " bias" : " no bias");
}

struct ErrorStats {
  double max_error = 0.0, max_error_ratio = 0.0;
  long runs = 0;
};

struct CaseData {
  std::vector<float> input, weight, bias;  // bias empty: none
};

class NumericsSuite {
 public:
  void run();

 private:
  CaseData random_data(const ConvParams& p, bool with_bias, float spread);
  // One case on every backend and, for NHWC, with the weights as given and pretransposed.
  void check_case(const ConvParams& p, const CaseData& data);
  void check_random_case(const ConvParams& p, bool with_bias, float spread = 1.0f) {
    check_case(p, random_data(p, with_bias, spread));
  }

  void sweep_tile_edges();
  void sweep_geometry();
  void sweep_activations();
  void sweep_cache_blocks_and_threads();
  void check_nan_propagation();
  void print_error_stats() const;

  BackendsUnderTest backends_;
  std::map<std::string, ErrorStats> stats_;
  std::mt19937 rng_{2024};
};

CaseData NumericsSuite::random_data(const ConvParams& p, bool with_bias, float spread) {
  const ConvPlan plan = make_plan(p);
  CaseData data;
  data.input = random_floats(plan.input_elements, spread, rng_);
  data.weight = random_floats(plan.weight_elements, 1.0f, rng_);
  if (with_bias) data.bias = random_floats(p.out_channels, spread, rng_);
  return data;
}

void NumericsSuite::check_case(const ConvParams& p, const CaseData& data) {
  const std::string what = describe(p, !data.bias.empty());
  ConvPlan plan;
  try {
    plan = make_plan(p);
  } catch (const Error& e) {
    check(false, what + ": make_plan threw " + e.what());
    return;
  }
  const float* bias = data.bias.empty() ? nullptr : data.bias.data();
  const ReferenceOutput reference = reference_conv(p, data.input, data.weight, bias);
  const std::vector<float> pretransposed = pretranspose_weights(plan, data.weight.data());
  std::vector<bool> weight_forms = {false};
  if (!pretransposed.empty()) weight_forms.push_back(true);
  std::vector<float> output(static_cast<size_t>(plan.output_elements));
  for (bool use_pretransposed : weight_forms) {
    ConvTensors tensors;
    tensors.input = data.input.data();
    tensors.weight = use_pretransposed ? pretransposed.data() : data.weight.data();
    tensors.weight_pretransposed = use_pretransposed;
    tensors.bias = bias;
    tensors.output = output.data();
    for (const BackendUnderTest& backend : backends_.all()) {
      const std::string where =
          what + (use_pretransposed ? ", pretransposed weights" : "") + " on " + backend.label;
      std::fill(output.begin(), output.end(), std::nanf(""));
      PackedWeights packed;
      tensors.packed = nullptr;
      try {
        if (backend.pointwise) {
          // Pixel tiles read pixels along rows: NCHW only.
          if (backend.shape == TileShape::Pixels && p.layout == Layout::NHWC) continue;
          packed = pack_weights(plan, tensors.weight, use_pretransposed, bias, *backend.pointwise,
                                backend.shape);
          tensors.packed = &packed;
        }
        run_conv(plan, tensors, backend.pointwise ? backends_.best_builtin() : *backend.gemm,
                 backend.threads);
      } catch (const std::exception& e) {
        check(false, where + ": threw " + e.what());
        continue;
      }
      const Comparison comparison = compare_to_reference(output, reference);
      check(comparison.ok, where + ": " + comparison.first_mismatch);
      ErrorStats& stats = stats_[backend.label];
      stats.max_error = std::max(stats.max_error, comparison.max_error);
      stats.max_error_ratio = std::max(stats.max_error_ratio, comparison.max_error_ratio);
      ++stats.runs;
    }
  }
}

// GEMM sizes around every tile edge, as M, N and K in both layouts (NCHW: M = Cout, N = H·W, K = Cin;
// NHWC: M = H·W, N = Cout, K = Cin). Activations and bias rotate through the cases.
void NumericsSuite::sweep_tile_edges() {
  int counter = 0;
  for (Layout layout : {Layout::NCHW, Layout::NHWC}) {
    for (int64_t cin : kTileEdges) {
      for (int64_t cout : kTileEdges) {
        for (int64_t pixels : kTileEdges) {
          ConvParams p;
          p.batch = 1;
          p.in_channels = cin;
          p.out_channels = cout;
          p.height = counter % 2 ? pixels : 1;
          p.width = counter % 2 ? 1 : pixels;
          p.layout = layout;
          p.activation = kActivations[counter % kActivationCount];
          check_random_case(p, counter % 4 != 0);
          ++counter;
        }
      }
    }
  }
}

// Stride, padding (symmetric or not), batch and grouping, including depthwise (groups = Cin) with
// and without a channel multiplier: the gather/scatter and per-group pointer arithmetic.
void NumericsSuite::sweep_geometry() {
  struct Grouping {
    int64_t groups, in_channels, out_channels;
  };
  const Grouping groupings[] = {
      {1, 5, 7}, {2, 6, 10}, {4, 16, 36}, {4, 68, 20}, {8, 8, 8}, {8, 8, 16},
  };
  const int64_t strides[][2] = {{1, 1}, {2, 2}, {3, 3}, {1, 2}, {3, 1}};
  const int64_t pads[][2] = {{0, 0}, {1, 1}, {2, 2}, {0, 1}, {2, 0}};
  const int64_t images[][2] = {{1, 1}, {5, 7}, {8, 9}, {6, 1}};
  int counter = 0;
  for (Layout layout : {Layout::NCHW, Layout::NHWC}) {
    for (int64_t batch : {1, 2}) {
      for (const auto& stride : strides) {
        for (const auto& pad : pads) {
          for (const auto& image : images) {
            for (const Grouping& grouping : groupings) {
              ConvParams p;
              p.batch = batch;
              p.in_channels = grouping.in_channels;
              p.out_channels = grouping.out_channels;
              p.groups = grouping.groups;
              p.height = image[0];
              p.width = image[1];
              p.stride_h = stride[0];
              p.stride_w = stride[1];
              p.pad_h = pad[0];
              p.pad_w = pad[1];
              p.layout = layout;
              p.activation = kActivations[counter % kActivationCount];
              check_random_case(p, counter % 3 != 0);
              ++counter;
            }
          }
        }
      }
    }
  }
}

// Every activation over a wide range of pre-activations (crossing relu6's 6 and hardswish's ±3),
// with a padding border where the output is act(bias) or act(0).
void NumericsSuite::sweep_activations() {
  for (Activation activation : kActivations) {
    for (float slope : {0.01f, 0.2f, -0.5f}) {
      if (slope != 0.01f && activation != Activation::LeakyRelu) continue;
      for (Layout layout : {Layout::NCHW, Layout::NHWC}) {
        for (int64_t groups : {1, 4}) {
          for (bool with_bias : {false, true}) {
            ConvParams p;
            p.batch = 2;
            p.in_channels = 24;
            p.out_channels = 20;
            p.groups = groups;
            p.height = 9;
            p.width = 7;
            p.stride_h = p.stride_w = 2;
            p.pad_h = p.pad_w = 1;
            p.layout = layout;
            p.activation = activation;
            p.negative_slope = slope;
            check_random_case(p, with_bias, 4.0f);
          }
        }
      }
    }
  }
}

// K beyond one 256-deep block (accumulation across blocks), N beyond one 512-wide block, and
// outputs large enough for run_conv to split them into several tiles over 2 threads, by columns
// (N ≥ M) and by rows (M > N).
void NumericsSuite::sweep_cache_blocks_and_threads() {
  struct Shape {
    int64_t in_channels, out_channels, height, width, groups;
  };
  const Shape shapes[] = {
      {255, 7, 1, 511, 1},  {256, 13, 16, 32, 1}, {257, 7, 1, 513, 1}, {513, 5, 3, 11, 1},
      {300, 40, 20, 26, 1}, {129, 600, 7, 10, 1}, {96, 50, 40, 25, 1}, {514, 66, 9, 65, 2},
  };
  int counter = 0;
  // Gathered panels large enough (≥ 64 Ki floats) to be copied by several threads: strided, and
  // strided with a padding border, over a batch of two. With 300 input channels the packed pixel
  // tiles gather a strided input in several column blocks per image.
  struct Gathered {
    int64_t in_channels, pad;
  };
  for (Layout layout : {Layout::NCHW, Layout::NHWC}) {
    for (const Gathered& gathered : {Gathered{40, 0}, Gathered{40, 1}, Gathered{300, 0}}) {
      const int64_t pad = gathered.pad;
      ConvParams p;
      p.batch = 2;
      p.in_channels = gathered.in_channels;
      p.out_channels = 24;
      p.height = 61;
      p.width = 70;
      p.stride_h = p.stride_w = 2;
      p.pad_h = p.pad_w = pad;
      p.layout = layout;
      p.activation = kActivations[(counter * 5) % kActivationCount];
      check_random_case(p, pad == 0);
      ++counter;
    }
  }
  for (Layout layout : {Layout::NCHW, Layout::NHWC}) {
    for (const Shape& shape : shapes) {
      ConvParams p;
      p.batch = 1;
      p.in_channels = shape.in_channels;
      p.out_channels = shape.out_channels;
      p.height = shape.height;
      p.width = shape.width;
      p.groups = shape.groups;
      p.layout = layout;
      p.activation = kActivations[(counter * 4) % kActivationCount];
      check_random_case(p, counter % 2 == 0);
      ++counter;
    }
  }
}

// A NaN in the input or the weights reaches exactly the outputs that read it, through every
// activation (relu(NaN) is NaN, as in torch), while the padding border stays finite.
void NumericsSuite::check_nan_propagation() {
  for (Activation activation : kActivations) {
    for (Layout layout : {Layout::NCHW, Layout::NHWC}) {
      for (bool padded : {false, true}) {
        ConvParams p;
        p.batch = 2;
        p.in_channels = 12;
        p.out_channels = 10;
        p.groups = 2;
        p.height = 5;
        p.width = 6;
        p.pad_h = p.pad_w = padded ? 1 : 0;
        p.layout = layout;
        p.activation = activation;
        CaseData data = random_data(p, true, 1.0f);
        data.input[7] = std::nanf("");
        data.input[data.input.size() - 3] = std::nanf("");
        data.weight[data.weight.size() / 2 + 1] = std::nanf("");
        const ReferenceOutput reference =
            reference_conv(p, data.input, data.weight, data.bias.data());
        int64_t nan_outputs = 0;
        for (double v : reference.value) nan_outputs += std::isnan(v);
        check(nan_outputs > 0 && nan_outputs < static_cast<int64_t>(reference.value.size()),
              describe(p, true) + ": the NaN case reaches some outputs but not all (" +
                  std::to_string(nan_outputs) + ")");
        check_case(p, data);
      }
    }
  }
}

void NumericsSuite::print_error_stats() const {
  for (const BackendUnderTest& backend : backends_.all()) {
    const auto found = stats_.find(backend.label);
    if (found == stats_.end()) continue;
    const ErrorStats& stats = found->second;
    std::printf("max |error| %.3g (%.3f of tolerance) over %ld runs: %s\n", stats.max_error,
                stats.max_error_ratio, stats.runs, backend.label.c_str());
  }
}

void NumericsSuite::run() {
  sweep_tile_edges();
  sweep_geometry();
  sweep_activations();
  sweep_cache_blocks_and_threads();
  check_nan_propagation();
  print_error_stats();
}

}  // namespace

void run_conv_numerics_tests() {
  NumericsSuite suite;
  suite.run();
}

}  // namespace test
}  // namespace conv1x1

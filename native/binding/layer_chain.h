#pragma once
// A run of layers executed as one job: Sequential's async forward hands its whole chain to one worker
// thread instead of hopping between the JS thread and a worker once per layer (each hop costs a
// thread wake-up and an event-loop turn, ~15–100 µs, more than a small layer's work).
//
// Buffers are numbered: 0 is the call's input, the last is its output, the others are intermediates
// that live in one arena per call. Intermediates whose lifetimes do not overlap share arena space.
#include <cstdint>
#include <memory>
#include <vector>

#include "../core/conv_params.h"
#include "../core/depthwise.h"
#include "../core/plan.h"
#include "conv_job.h"
#include "depthwise_job.h"

namespace conv1x1 {
namespace binding {

struct ChainStep {
  enum class Op {
    Conv,       // 1×1 convolution of `input` into `output`
    Depthwise,  // depthwise convolution of `input` into `output`
    AddInput,   // output[i] = act(output[i] + input[i]): a residual's skip connection
    MeanPool,   // output[p] = mean of input's `pixels` values of plane p, for `planes` planes
    Copy,       // output = input
  };
  Op op = Op::Copy;
  int input = 0;
  int output = 0;
  ConvPlan conv_plan;
  std::shared_ptr<const PreparedWeights> conv_weights;
  DepthwisePlan depthwise_plan;
  std::shared_ptr<const DepthwiseWeights> depthwise_weights;
  int64_t elements = 0;  // AddInput, Copy
  int64_t planes = 0, pixels = 0;  // MeanPool
  Activation activation = Activation::None;  // AddInput
  float negative_slope = 0.01f;
};

class LayerChain {
 public:
  // Throws conv1x1::Error when a step names a buffer that does not exist (OutOfRange), reads one
  // before any step wrote it, writes the input or writes a buffer twice (only AddInput updates its
  // output in place), or when its sizes disagree with the buffers' (ShapeMismatch).
  LayerChain(std::vector<ChainStep> steps, std::vector<int64_t> buffer_elements);

  int64_t input_elements() const { return buffer_elements_.front(); }
  int64_t output_elements() const { return buffer_elements_.back(); }
  // Floats of the per-call arena that holds every intermediate.
  int64_t arena_elements() const { return arena_elements_; }
  // Whether a step runs a 1×1 convolution (and so needs the GEMM backend).
  bool runs_convolutions() const;

  // Runs every step in order; the caller holds a compute slot. `arena`: arena_elements() floats.
  void run(const float* input, float* output, float* arena) const;

 private:
  void check_step(const ChainStep& step, size_t index) const;
  void lay_out_arena();

  std::vector<ChainStep> steps_;
  std::vector<int64_t> buffer_elements_;
  std::vector<int64_t> arena_offset_;  // per buffer; unused for the input and the output
  int64_t arena_elements_ = 0;
};

}  // namespace binding
}  // namespace conv1x1

#pragma once
// One convolution call as the binding hands it to the core: a plan and the memory it runs over.
// Async calls own (or share) the weights and, unless the facade marks them private to the call (see
// AsyncInput and outIsPrivate: arrays it allocated and shows nobody until the promise settles), their
// own copies of input and output, so nothing JS does meanwhile can reach what a worker thread uses.
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "../core/conv1x1.h"
#include "../core/packed_weights.h"
#include "../core/plan.h"
#include "../gemm/backend_registry.h"

namespace conv1x1 {
namespace binding {

// Weights prepared once: a layer keeps them for its lifetime and shares them with its in-flight calls.
// The builtin kernels' panels are packed on the first call that runs on them, once per tile shape
// (a layer that only ever sees one input size packs once), and kept.
class PreparedWeights {
 public:
  PreparedWeights(const ConvPlan& plan, const float* weight, const float* bias);

  const float* weight() const { return weight_.data(); }
  bool pretransposed() const { return pretransposed_; }
  const float* bias() const { return bias_.empty() ? nullptr : bias_.data(); }
  // Thread-safe: calls of one layer on several threads share one packing.
  const PackedWeights& packed(const kernels::PointwiseKernels& kernels, TileShape shape) const;

 private:
  ConvPlan layer_plan_;        // the layer's parameters (any input size packs the same)
  std::vector<float> weight_;  // [Cout][Cin/g], or W_gᵀ per group when pretransposed (NHWC)
  bool pretransposed_ = false;
  std::vector<float> bias_;    // empty: no bias
  mutable std::mutex pack_mutex_;
  mutable std::unique_ptr<PackedWeights> packed_[2];  // by TileShape
};

std::shared_ptr<const PreparedWeights> prepare_weights(const ConvPlan& plan, const float* weight,
                                                      const float* bias);

// The weights of one call: a layer's prepared ones, or (functional calls) the caller's arrays.
struct CallWeights {
  const PreparedWeights* prepared = nullptr;
  const float* weight = nullptr;  // when prepared is null: [Cout][Cin/g]
  const float* bias = nullptr;
};

// Runs plan over the given pointers on the engine the registry picks for it. run_in_slot first waits
// for a compute slot (sync calls); run_holding_slot is for a caller that already holds one (async).
void run_in_slot(const ConvPlan& plan, const float* input, const CallWeights& weights, float* output);
void run_holding_slot(const ConvPlan& plan, const float* input, const CallWeights& weights,
                      float* output);

// What a call of this plan runs on: "openblas", "builtin avx512f (channel tiles)", …
std::string engine_name(const ConvPlan& plan);

// run_holding_slot with the plan and the shared weights bound: the job of an async ConvWorker.
std::function<void(const float* input, float* output)> bind_conv(
    const ConvPlan& plan, std::shared_ptr<const PreparedWeights> weights);

}  // namespace binding
}  // namespace conv1x1

#pragma once
// One convolution call as the binding hands it to the core: a plan and the memory it runs over.
// Async calls own (or share) the weights and, unless the facade marks them private to the call (see
// AsyncInput and outIsPrivate: arrays it allocated and shows nobody until the promise settles), their
// own copies of input and output, so nothing JS does meanwhile can reach what a worker thread uses.
#include <functional>
#include <memory>
#include <vector>

#include "../core/conv1x1.h"
#include "../core/plan.h"

namespace conv1x1 {
namespace binding {

// Weights prepared once: a layer keeps them for its lifetime and shares them with its in-flight calls.
struct PreparedWeights {
  std::vector<float> weight;  // [Cout][Cin/g], or W_gᵀ per group when pretransposed
  bool pretransposed = false;
  std::vector<float> bias;    // empty: no bias
};

std::shared_ptr<const PreparedWeights> prepare_weights(const ConvPlan& plan, const float* weight,
                                                      const float* bias);

// Runs plan over the given pointers on the active backend. run_in_slot first waits for a compute
// slot (sync calls); run_holding_slot is for a caller that already holds one (async workers).
void run_in_slot(const ConvPlan& plan, const float* input, const float* weight,
                 bool weight_pretransposed, const float* bias, float* output);
void run_holding_slot(const ConvPlan& plan, const float* input, const float* weight,
                      bool weight_pretransposed, const float* bias, float* output);

// run_holding_slot with the plan and the shared weights bound: the job of an async ConvWorker.
std::function<void(const float* input, float* output)> bind_conv(
    const ConvPlan& plan, std::shared_ptr<const PreparedWeights> weights);

}  // namespace binding
}  // namespace conv1x1

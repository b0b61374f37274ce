#pragma once
// One depthwise call as the binding hands it to the core: a layer's weights, shared with its
// in-flight calls, and the run itself for a caller that holds a compute slot.
#include <vector>

#include "../core/depthwise.h"

namespace conv1x1 {
namespace binding {

// A layer keeps its weights for its lifetime and shares them with its in-flight calls.
struct DepthwiseWeights {
  std::vector<float> weight;  // [C][kH][kW]
  std::vector<float> bias;    // empty: no bias
};

// The threads per call are read under the slot, as for 1×1 calls.
void run_depthwise_holding_slot(const DepthwisePlan& plan, const DepthwiseWeights& weights,
                                const float* input, float* output);

}  // namespace binding
}  // namespace conv1x1

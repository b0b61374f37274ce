#include "depthwise_job.h"

#include "../gemm/backend_registry.h"

namespace conv1x1 {
namespace binding {

void run_depthwise_holding_slot(const DepthwisePlan& plan, const DepthwiseWeights& weights,
                                const float* input, float* output) {
  const float* bias = weights.bias.empty() ? nullptr : weights.bias.data();
  run_depthwise(plan, input, weights.weight.data(), bias, output,
                BackendRegistry::instance().threads());
}

}  // namespace binding
}  // namespace conv1x1

#include "conv_job.h"

#include "../gemm/backend_registry.h"
#include "../platform/compute_slots.h"

namespace conv1x1 {
namespace binding {

std::shared_ptr<const PreparedWeights> prepare_weights(const ConvPlan& plan, const float* weight,
                                                      const float* bias) {
  auto prepared = std::make_shared<PreparedWeights>();
  prepared->weight = pretranspose_weights(plan, weight);
  prepared->pretransposed = !prepared->weight.empty();
  if (!prepared->pretransposed) prepared->weight.assign(weight, weight + plan.weight_elements);
  if (bias) prepared->bias.assign(bias, bias + plan.params.out_channels);
  return prepared;
}

void run_in_slot(const ConvPlan& plan, const float* input, const float* weight,
                 bool weight_pretransposed, const float* bias, float* output) {
  BackendRegistry::instance().active();  // a backend that failed to load throws before we wait
  ComputeSlot slot;
  run_holding_slot(plan, input, weight, weight_pretransposed, bias, output);
}

void run_holding_slot(const ConvPlan& plan, const float* input, const float* weight,
                      bool weight_pretransposed, const float* bias, float* output) {
  BackendRegistry& registry = BackendRegistry::instance();
  const GemmBackend& backend = registry.active();
  ConvTensors tensors;
  tensors.input = input;
  tensors.weight = weight;
  tensors.weight_pretransposed = weight_pretransposed;
  tensors.bias = bias;
  tensors.output = output;
  run_conv(plan, tensors, backend, registry.threads());
}

std::function<void(const float*, float*)> bind_conv(
    const ConvPlan& plan, std::shared_ptr<const PreparedWeights> weights) {
  return [plan, weights](const float* input, float* output) {
    run_holding_slot(plan, input, weights->weight.data(), weights->pretransposed,
                     weights->bias.empty() ? nullptr : weights->bias.data(), output);
  };
}

}  // namespace binding
}  // namespace conv1x1

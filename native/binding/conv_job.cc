#include "conv_job.h"

#include "../platform/compute_slots.h"

namespace conv1x1 {
namespace binding {

PreparedWeights::PreparedWeights(const ConvPlan& plan, const float* weight, const float* bias)
    : layer_plan_(plan) {
  weight_ = pretranspose_weights(plan, weight);
  pretransposed_ = !weight_.empty();
  if (!pretransposed_) weight_.assign(weight, weight + plan.weight_elements);
  if (bias) bias_.assign(bias, bias + plan.params.out_channels);
}

const PackedWeights& PreparedWeights::packed(const kernels::PointwiseKernels& kernels,
                                             TileShape shape) const {
  std::lock_guard<std::mutex> lock(pack_mutex_);
  std::unique_ptr<PackedWeights>& slot = packed_[static_cast<int>(shape)];
  if (!slot) {
    slot.reset(new PackedWeights(
        pack_weights(layer_plan_, weight_.data(), pretransposed_, bias(), kernels, shape)));
  }
  return *slot;
}

std::shared_ptr<const PreparedWeights> prepare_weights(const ConvPlan& plan, const float* weight,
                                                      const float* bias) {
  return std::make_shared<const PreparedWeights>(plan, weight, bias);
}

void run_in_slot(const ConvPlan& plan, const float* input, const CallWeights& weights, float* output) {
  BackendRegistry::instance().active();  // a backend that failed to load throws before we wait
  ComputeSlot slot;
  run_holding_slot(plan, input, weights, output);
}

void run_holding_slot(const ConvPlan& plan, const float* input, const CallWeights& weights,
                      float* output) {
  BackendRegistry& registry = BackendRegistry::instance();
  const ConvEngine engine = registry.engine_for(plan);
  ConvTensors tensors;
  tensors.input = input;
  tensors.output = output;
  PackedWeights one_off;
  if (weights.prepared) {
    tensors.weight = weights.prepared->weight();
    tensors.weight_pretransposed = weights.prepared->pretransposed();
    tensors.bias = weights.prepared->bias();
    if (engine.pointwise) {
      tensors.packed = &weights.prepared->packed(*engine.pointwise, choose_tile_shape(plan, *engine.pointwise));
    }
  } else {
    tensors.weight = weights.weight;
    tensors.bias = weights.bias;
    // A functional call packs for itself (a copy of the weights; small next to the product).
    if (engine.pointwise && plan.output_elements > 0 && plan.in_channels_per_group > 0) {
      one_off = pack_weights(plan, weights.weight, false, weights.bias, *engine.pointwise,
                             choose_tile_shape(plan, *engine.pointwise));
      tensors.packed = &one_off;
    }
  }
  run_conv(plan, tensors, *engine.gemm, registry.threads());
}

std::string engine_name(const ConvPlan& plan) {
  const ConvEngine engine = BackendRegistry::instance().engine_for(plan);
  if (!engine.pointwise) return engine.gemm->name();
  const bool pixels = choose_tile_shape(plan, *engine.pointwise) == TileShape::Pixels;
  return std::string("builtin ") + engine.pointwise->isa + (pixels ? " (pixel tiles)" : " (channel tiles)");
}

std::function<void(const float*, float*)> bind_conv(
    const ConvPlan& plan, std::shared_ptr<const PreparedWeights> weights) {
  return [plan, weights](const float* input, float* output) {
    CallWeights call;
    call.prepared = weights.get();
    run_holding_slot(plan, input, call, output);
  };
}

}  // namespace binding
}  // namespace conv1x1

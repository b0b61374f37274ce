#pragma once
// The native half of the DepthwiseConv2d layer: weights validated and copied once at construction,
// then run on any number of NCHW inputs, sync or on the async workers that PreparedConv uses.
//   new PreparedDepthwise(layerParams, weight, bias | null)
//   run(batch, height, width, input, out) -> out;
//   runAsync(batch, height, width, input, out, outIsPrivate, inputIsPrivate) -> Promise<out>
//   close() -> releases the weights (calls in flight keep them until they end); later calls throw ERR_CLOSED
// layerParams: { channels, kernelH, kernelW, strideH, strideW, padH, padW, dilationH, dilationW,
//                activation, negativeSlope }; batch, height, width: of the NCHW input.
#include <napi.h>

#include <memory>

#include "../core/depthwise.h"
#include "depthwise_job.h"
#include "js_args.h"

namespace conv1x1 {
namespace binding {

class PreparedDepthwise : public Napi::ObjectWrap<PreparedDepthwise> {
 public:
  static Napi::Function define(Napi::Env env);
  explicit PreparedDepthwise(const Napi::CallbackInfo& info);

 public:
  // For a chain of layers (PreparedChain): see PreparedConv.
  DepthwisePlan plan_for_dims(Napi::Env env, const InputDims& dims) const;
  std::shared_ptr<const DepthwiseWeights> weights() const { return weights_; }

 private:
  Napi::Value run(const Napi::CallbackInfo& info);
  Napi::Value run_async(const Napi::CallbackInfo& info);
  Napi::Value close(const Napi::CallbackInfo& info);
  DepthwisePlan plan_for(const Napi::CallbackInfo& info) const;

  DepthwiseParams layer_params_;
  std::shared_ptr<const DepthwiseWeights> weights_;
};

}  // namespace binding
}  // namespace conv1x1

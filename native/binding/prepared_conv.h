#pragma once
// The native half of the Conv1x1 layer: weights validated, copied and laid out once at construction,
// then run on any number of inputs.
//   new PreparedConv(layerParams, weight, bias | null)
//   run(batch, height, width, input, out) -> out;
//   runAsync(batch, height, width, input, out, outIsPrivate, inputIsPrivate) -> Promise<out>
//   engine(batch, height, width) -> what such a call runs on ("openblas", "builtin avx512f (pixel tiles)")
//   close() -> releases the weights (calls in flight keep them until they end); later calls throw ERR_CLOSED
#include <napi.h>

#include <memory>

#include "../core/conv_params.h"
#include "conv_job.h"
#include "js_args.h"

namespace conv1x1 {
namespace binding {

class PreparedConv : public Napi::ObjectWrap<PreparedConv> {
 public:
  static Napi::Function define(Napi::Env env);
  explicit PreparedConv(const Napi::CallbackInfo& info);

 public:
  // For a chain of layers (PreparedChain): the plan of a call on this input size and the weights,
  // which the chain shares. Throws ERR_CLOSED once the layer was closed.
  ConvPlan plan_for_dims(Napi::Env env, const InputDims& dims) const;
  std::shared_ptr<const PreparedWeights> weights() const { return weights_; }

 private:
  Napi::Value run(const Napi::CallbackInfo& info);
  Napi::Value run_async(const Napi::CallbackInfo& info);
  Napi::Value engine(const Napi::CallbackInfo& info);
  Napi::Value close(const Napi::CallbackInfo& info);
  ConvPlan plan_for(const Napi::CallbackInfo& info) const;

  ConvParams layer_params_;
  std::shared_ptr<const PreparedWeights> weights_;
};

}  // namespace binding
}  // namespace conv1x1

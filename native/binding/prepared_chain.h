#pragma once
// The native half of Sequential's async forward: a chain of prepared layers for one input shape,
// run as one async job (see LayerChain).
//   new PreparedChain(steps, bufferElements)
//     steps: [{ op: 'conv' | 'depthwise', layer: PreparedConv | PreparedDepthwise, batch, height,
//               width, input, output }
//            | { op: 'add', input, output, elements, activation, negativeSlope }
//            | { op: 'meanPool', input, output, planes, pixels }
//            | { op: 'copy', input, output, elements }]
//     bufferElements: floats of each buffer; [0] is the input, the last is the output.
//   runAsync(input, out, outIsPrivate, inputIsPrivate) -> Promise<out>
//   arenaElements() -> floats of the intermediates' arena each call takes (for the queue pre-check)
//   close() -> releases the chain's share of the weights; later calls throw ERR_CLOSED
// The chain shares its layers' weights: closing a layer does not stop a chain made before, so the
// facade checks its layers are open before each call.
#include <napi.h>

#include <memory>

#include "layer_chain.h"

namespace conv1x1 {
namespace binding {

class PreparedChain : public Napi::ObjectWrap<PreparedChain> {
 public:
  static Napi::Function define(Napi::Env env);
  explicit PreparedChain(const Napi::CallbackInfo& info);

 private:
  Napi::Value run_async(const Napi::CallbackInfo& info);
  Napi::Value arena_elements(const Napi::CallbackInfo& info);
  Napi::Value close(const Napi::CallbackInfo& info);

  std::shared_ptr<const LayerChain> chain_;
};

}  // namespace binding
}  // namespace conv1x1

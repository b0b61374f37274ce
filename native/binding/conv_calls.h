#pragma once
// The functional op, sync and async:
//   conv(params, input, weight, bias | null, out) -> out
//   convAsync(params, input, weight, bias | null, out, outIsPrivate) -> Promise<out>
// params: { batch, inChannels, height, width, outChannels, strideH, strideW, padH, padW, groups,
//           layout: 'nchw' | 'nhwc', activation, negativeSlope }
#include <napi.h>

namespace conv1x1 {
namespace binding {

Napi::Value conv_sync(const Napi::CallbackInfo& info);
Napi::Value conv_async(const Napi::CallbackInfo& info);

}  // namespace binding
}  // namespace conv1x1

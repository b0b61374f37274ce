#include "call_buffers.h"

#include <cstring>

#include "js_errors.h"

namespace conv1x1 {
namespace binding {

CallBuffers read_call_buffers(const Napi::CallbackInfo& info, size_t input_index, size_t out_index,
                              const ConvPlan& plan, const FloatView& weight, const FloatView& bias) {
  Napi::Env env = info.Env();
  CallBuffers buffers;
  buffers.input = read_float32_array(info[input_index], "input");
  require_length(buffers.input, plan.input_elements, "input");
  buffers.out = read_optional_float32_array(info[out_index], "out");
  if (buffers.out.data || !(info[out_index].IsNull() || info[out_index].IsUndefined())) {
    require_length(buffers.out, plan.output_elements, "out");
    buffers.out_array = info[out_index].As<Napi::Float32Array>();
    require_disjoint(env, buffers.out, buffers.input, "input");
    require_disjoint(env, buffers.out, weight, "weight");
    require_disjoint(env, buffers.out, bias, "bias");
  }
  return buffers;
}

ScratchBuffer snapshot_input(const CallBuffers& buffers) {
  ScratchBuffer copy(static_cast<size_t>(buffers.input.length));
  if (buffers.input.length > 0) {
    std::memcpy(copy.data(), buffers.input.data, static_cast<size_t>(buffers.input.length) * sizeof(float));
  }
  return copy;
}

Napi::Float32Array output_array(Napi::Env env, const CallBuffers& buffers, const ConvPlan& plan) {
  if (!buffers.out_array.IsEmpty()) return buffers.out_array;
  // A Node Buffer's memory is V8-owned like any ArrayBuffer's (safe in Electron's memory cage) but is
  // not zero-filled: zeroing a multi-megabyte output on the JS thread cost more than the copy of the
  // input. run_conv writes every output element, so nothing uninitialized is ever seen.
  const size_t elements = static_cast<size_t>(plan.output_elements);
  Napi::Buffer<uint8_t> storage = Napi::Buffer<uint8_t>::New(env, elements * sizeof(float));
  return Napi::Float32Array::New(env, elements, storage.ArrayBuffer(), storage.ByteOffset());
}

}  // namespace binding
}  // namespace conv1x1

#include "call_buffers.h"

#include <cstring>

#include "js_errors.h"

namespace conv1x1 {
namespace binding {

CallBuffers read_call_buffers(const Napi::CallbackInfo& info, size_t input_index, size_t out_index,
                              const ConvPlan& plan, const FloatView& weight, const FloatView& bias) {
  return read_call_buffers(info, input_index, out_index, plan.input_elements, plan.output_elements,
                           weight, bias);
}

CallBuffers read_call_buffers(const Napi::CallbackInfo& info, size_t input_index, size_t out_index,
                              int64_t input_elements, int64_t output_elements,
                              const FloatView& weight, const FloatView& bias) {
  Napi::Env env = info.Env();
  CallBuffers buffers;
  buffers.input = read_float32_array(info[input_index], "input");
  buffers.input_array = info[input_index].As<Napi::Float32Array>();
  require_length(buffers.input, input_elements, "input");
  buffers.out = read_float32_array(info[out_index], "out");
  require_length(buffers.out, output_elements, "out");
  buffers.out_array = info[out_index].As<Napi::Float32Array>();
  require_disjoint(env, buffers.out, buffers.input, "input");
  require_disjoint(env, buffers.out, weight, "weight");
  require_disjoint(env, buffers.out, bias, "bias");
  return buffers;
}

FloatView read_bias(const Napi::Value& value, int64_t out_channels) {
  if (value.IsNull() || value.IsUndefined()) return FloatView{};
  FloatView bias = read_float32_array(value, "bias");
  require_length(bias, out_channels, "bias");
  return bias;
}

bool read_flag(const Napi::CallbackInfo& info, size_t index) {
  return info.Length() > index && info[index].IsBoolean() && info[index].As<Napi::Boolean>().Value();
}

AsyncInput::AsyncInput(const CallBuffers& buffers, bool input_is_private) {
  if (input_is_private) {
    keep_alive_ = Napi::Persistent(buffers.input_array);
    borrowed_ = buffers.input.data;
    return;
  }
  snapshot_ = ScratchBuffer(static_cast<size_t>(buffers.input.length));
  if (buffers.input.length > 0) {
    std::memcpy(snapshot_.data(), buffers.input.data, static_cast<size_t>(buffers.input.length) * sizeof(float));
  }
}

}  // namespace binding
}  // namespace conv1x1

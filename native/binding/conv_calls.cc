#include "conv_calls.h"

#include "../core/plan.h"
#include "../gemm/backend_registry.h"
#include "call_buffers.h"
#include "conv_job.h"
#include "conv_worker.h"
#include "js_args.h"
#include "js_errors.h"

namespace conv1x1 {
namespace binding {
namespace {

struct FunctionalCall {
  ConvPlan plan;
  FloatView weight, bias;
  CallBuffers buffers;
};

FunctionalCall read_functional_call(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 5 || !info[0].IsObject()) {
    throw_type_error(env, "ERR_INVALID_ARG_TYPE", "conv expects (params, input, weight, bias, out)");
  }
  ConvParams params;
  Napi::Object object = info[0].As<Napi::Object>();
  read_layer_params(object, &params);
  read_input_dims(object, &params);
  FunctionalCall call;
  call.plan = make_plan(params);
  call.weight = read_float32_array(info[2], "weight");
  require_length(call.weight, call.plan.weight_elements, "weight");
  call.bias = read_bias(info[3], params.out_channels);
  call.buffers = read_call_buffers(info, 1, 4, call.plan, call.weight, call.bias);
  return call;
}

}  // namespace

Napi::Value conv_sync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guard(env, [&]() -> Napi::Value {
    FunctionalCall call = read_functional_call(info);
    CallWeights weights;
    weights.weight = call.weight.data;
    weights.bias = call.bias.data;
    run_in_slot(call.plan, call.buffers.input.data, weights, call.buffers.out.data);
    return call.buffers.out_array;
  });
}

Napi::Value conv_async(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guard(env, [&]() -> Napi::Value {
    FunctionalCall call = read_functional_call(info);
    BackendRegistry::instance().active();  // a backend that failed to load rejects now, not later
    QueueTicket ticket = admit_async_call(env, call.plan.input_elements + call.plan.weight_elements,
                                          call.plan.output_elements);
    // The input is snapshotted (the caller may detach or reuse its arrays while it runs), and the
    // weights copied with it.
    auto weights = prepare_weights(call.plan, call.weight.data, call.bias.data);
    return start_async_call(env, std::move(ticket), bind_conv(call.plan, std::move(weights)),
                            call.plan.output_elements, call.buffers, false, read_flag(info, 5));
  });
}

}  // namespace binding
}  // namespace conv1x1

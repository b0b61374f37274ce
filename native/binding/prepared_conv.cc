#include "prepared_conv.h"

#include "../gemm/backend_registry.h"
#include "call_buffers.h"
#include "conv_worker.h"
#include "js_args.h"
#include "js_errors.h"

namespace conv1x1 {
namespace binding {

Napi::Function PreparedConv::define(Napi::Env env) {
  return DefineClass(env, "PreparedConv",
                     {InstanceMethod<&PreparedConv::run>("run"),
                      InstanceMethod<&PreparedConv::run_async>("runAsync"),
                      InstanceMethod<&PreparedConv::engine>("engine"),
                      InstanceMethod<&PreparedConv::close>("close")});
}

PreparedConv::PreparedConv(const Napi::CallbackInfo& info) : Napi::ObjectWrap<PreparedConv>(info) {
  Napi::Env env = info.Env();
  guard(env, [&] {
    if (info.Length() < 3 || !info[0].IsObject()) {
      throw_type_error(env, "ERR_INVALID_ARG_TYPE", "PreparedConv expects (params, weight, bias)");
    }
    read_layer_params(info[0].As<Napi::Object>(), &layer_params_);
    // A plan with one 1×1 image validates the layer's own parameters and sizes the weights.
    ConvParams probe = layer_params_;
    probe.batch = probe.height = probe.width = 1;
    ConvPlan plan = make_plan(probe);
    FloatView weight = read_float32_array(info[1], "weight");
    require_length(weight, plan.weight_elements, "weight");
    FloatView bias = read_bias(info[2], layer_params_.out_channels);
    weights_ = prepare_weights(plan, weight.data, bias.data);
  });
}

Napi::Value PreparedConv::close(const Napi::CallbackInfo& info) {
  weights_.reset();  // in-flight calls hold their own reference and finish with it
  return info.Env().Undefined();
}

ConvPlan PreparedConv::plan_for(const Napi::CallbackInfo& info) const {
  return plan_for_dims(info.Env(), read_input_dims(info));
}

ConvPlan PreparedConv::plan_for_dims(Napi::Env env, const InputDims& dims) const {
  if (!weights_) throw_domain_error(env, "ERR_CLOSED", "the Conv1x1 layer was closed");
  ConvParams params = layer_params_;
  params.batch = dims.batch;
  params.height = dims.height;
  params.width = dims.width;
  return make_plan(params);
}

Napi::Value PreparedConv::run(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guard(env, [&]() -> Napi::Value {
    ConvPlan plan = plan_for(info);
    CallBuffers buffers = read_call_buffers(info, 3, 4, plan, FloatView{}, FloatView{});
    CallWeights weights;
    weights.prepared = weights_.get();
    run_in_slot(plan, buffers.input.data, weights, buffers.out.data);
    return buffers.out_array;
  });
}

Napi::Value PreparedConv::engine(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guard(env, [&]() -> Napi::Value {
    return Napi::String::New(env, engine_name(plan_for(info)));
  });
}

Napi::Value PreparedConv::run_async(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guard(env, [&]() -> Napi::Value {
    ConvPlan plan = plan_for(info);
    CallBuffers buffers = read_call_buffers(info, 3, 4, plan, FloatView{}, FloatView{});
    BackendRegistry::instance().active();  // a backend that failed to load rejects now
    const bool input_private = read_flag(info, 6), out_private = read_flag(info, 5);
    // Counted: the input snapshot (none when the input is private) and the result, whether the
    // worker writes a private `out` in place or a native buffer copied into `out` at the end.
    QueueTicket ticket = admit_async_call(env, input_private ? 0 : plan.input_elements,
                                          plan.output_elements);
    return start_async_call(env, std::move(ticket), bind_conv(plan, weights_), plan.output_elements, buffers,
                            input_private, out_private);
  });
}

}  // namespace binding
}  // namespace conv1x1

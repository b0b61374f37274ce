#include "prepared_depthwise.h"

#include "../gemm/backend_registry.h"
#include "../platform/compute_slots.h"
#include "call_buffers.h"
#include "conv_worker.h"
#include "depthwise_job.h"
#include "js_args.h"
#include "js_errors.h"

namespace conv1x1 {
namespace binding {
namespace {

void read_depthwise_params(const Napi::Object& object, DepthwiseParams* p) {
  p->channels = read_size(object, "channels", 1);
  p->kernel_h = read_size(object, "kernelH", 1);
  p->kernel_w = read_size(object, "kernelW", 1);
  p->stride_h = read_size(object, "strideH", 1);
  p->stride_w = read_size(object, "strideW", 1);
  p->pad_h = read_size(object, "padH", 0);
  p->pad_w = read_size(object, "padW", 0);
  p->dilation_h = read_size(object, "dilationH", 1);
  p->dilation_w = read_size(object, "dilationW", 1);
  read_activation(object, &p->activation, &p->negative_slope);
}

}  // namespace

Napi::Function PreparedDepthwise::define(Napi::Env env) {
  return DefineClass(env, "PreparedDepthwise",
                     {InstanceMethod<&PreparedDepthwise::run>("run"),
                      InstanceMethod<&PreparedDepthwise::run_async>("runAsync"),
                      InstanceMethod<&PreparedDepthwise::close>("close")});
}

PreparedDepthwise::PreparedDepthwise(const Napi::CallbackInfo& info)
    : Napi::ObjectWrap<PreparedDepthwise>(info) {
  Napi::Env env = info.Env();
  guard(env, [&] {
    if (info.Length() < 3 || !info[0].IsObject()) {
      throw_type_error(env, "ERR_INVALID_ARG_TYPE",
                       "PreparedDepthwise expects (params, weight, bias)");
    }
    read_depthwise_params(info[0].As<Napi::Object>(), &layer_params_);
    FloatView weight = read_float32_array(info[1], "weight");
    require_length(weight, depthwise_weight_elements(layer_params_), "weight");
    FloatView bias = read_bias(info[2], layer_params_.channels);
    auto weights = std::make_shared<DepthwiseWeights>();
    weights->weight.assign(weight.data, weight.data + weight.length);
    if (bias.data) weights->bias.assign(bias.data, bias.data + bias.length);
    weights_ = std::move(weights);
    // The registry sizes the compute slots when it is made, waiting for running calls: made here,
    // it exists before any call of this layer takes a slot. (Depthwise needs no BLAS, so a library
    // that failed to load is no error here.)
    BackendRegistry::instance();
  });
}

Napi::Value PreparedDepthwise::close(const Napi::CallbackInfo& info) {
  weights_.reset();  // in-flight calls hold their own reference and finish with it
  return info.Env().Undefined();
}

DepthwisePlan PreparedDepthwise::plan_for(const Napi::CallbackInfo& info) const {
  return plan_for_dims(info.Env(), read_input_dims(info));
}

DepthwisePlan PreparedDepthwise::plan_for_dims(Napi::Env env, const InputDims& dims) const {
  if (!weights_) throw_domain_error(env, "ERR_CLOSED", "the DepthwiseConv2d layer was closed");
  DepthwiseParams params = layer_params_;
  params.batch = dims.batch;
  params.height = dims.height;
  params.width = dims.width;
  return make_depthwise_plan(params);
}

Napi::Value PreparedDepthwise::run(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guard(env, [&]() -> Napi::Value {
    DepthwisePlan plan = plan_for(info);
    CallBuffers buffers = read_call_buffers(info, 3, 4, plan.input_elements, plan.output_elements,
                                            FloatView{}, FloatView{});
    ComputeSlot slot;
    run_depthwise_holding_slot(plan, *weights_, buffers.input.data, buffers.out.data);
    return buffers.out_array;
  });
}

Napi::Value PreparedDepthwise::run_async(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guard(env, [&]() -> Napi::Value {
    DepthwisePlan plan = plan_for(info);
    CallBuffers buffers = read_call_buffers(info, 3, 4, plan.input_elements, plan.output_elements,
                                            FloatView{}, FloatView{});
    const bool input_private = read_flag(info, 6), out_private = read_flag(info, 5);
    // Counted: the input snapshot (none when the input is private) and the result, whether the
    // worker writes a private `out` in place or a native buffer copied into `out` at the end.
    QueueTicket ticket = admit_async_call(env, input_private ? 0 : plan.input_elements,
                                          plan.output_elements);
    const int64_t output_elements = plan.output_elements;
    std::shared_ptr<const DepthwiseWeights> weights = weights_;
    WorkerJob job = [plan = std::move(plan), weights](const float* in, float* out) {
      run_depthwise_holding_slot(plan, *weights, in, out);
    };
    return start_async_call(env, std::move(ticket), std::move(job), output_elements, buffers, input_private,
                            out_private);
  });
}

}  // namespace binding
}  // namespace conv1x1

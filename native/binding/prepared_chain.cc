#include "prepared_chain.h"

#include <string>
#include <vector>

#include "../gemm/backend_registry.h"
#include "addon_state.h"
#include "call_buffers.h"
#include "conv_worker.h"
#include "js_args.h"
#include "js_errors.h"
#include "prepared_conv.h"
#include "prepared_depthwise.h"

namespace conv1x1 {
namespace binding {
namespace {

// An index past any real chain becomes -1, which LayerChain refuses as out of range.
int read_buffer_index(const Napi::Object& step, const char* key) {
  const int64_t index = read_size(step, key, 0);
  return index > (int64_t{1} << 30) ? -1 : static_cast<int>(index);
}

InputDims read_step_dims(const Napi::Object& step) {
  InputDims dims;
  dims.batch = read_size(step, "batch", 0);
  dims.height = read_size(step, "height", 0);
  dims.width = read_size(step, "width", 0);
  return dims;
}

// The layer object of a conv or depthwise step, checked to be an instance of that class.
template <typename Prepared>
const Prepared& read_layer(const Napi::Object& step, const Napi::FunctionReference& constructor,
                           const char* class_name) {
  Napi::Env env = step.Env();
  Napi::Value layer = step.Get("layer");
  if (!layer.IsObject() || !layer.As<Napi::Object>().InstanceOf(constructor.Value())) {
    throw_type_error(env, "ERR_INVALID_ARG_TYPE", std::string("a chain step's layer must be a ") + class_name);
  }
  return *Prepared::Unwrap(layer.As<Napi::Object>());
}

ChainStep read_step(const Napi::Value& value) {
  Napi::Env env = value.Env();
  if (!value.IsObject()) throw_type_error(env, "ERR_INVALID_ARG_TYPE", "a chain step must be an object");
  const Napi::Object object = value.As<Napi::Object>();
  const Napi::Value op_value = object.Get("op");
  if (!op_value.IsString()) throw_type_error(env, "ERR_INVALID_ARG_TYPE", "a chain step's op must be a string");
  const std::string op = op_value.As<Napi::String>().Utf8Value();
  ChainStep step;
  step.input = read_buffer_index(object, "input");
  step.output = read_buffer_index(object, "output");
  AddonState& state = addon_state(env);
  if (op == "conv") {
    const PreparedConv& layer = read_layer<PreparedConv>(object, state.prepared_conv_constructor, "PreparedConv");
    step.op = ChainStep::Op::Conv;
    step.conv_plan = layer.plan_for_dims(env, read_step_dims(object));
    step.conv_weights = layer.weights();
  } else if (op == "depthwise") {
    const PreparedDepthwise& layer =
        read_layer<PreparedDepthwise>(object, state.prepared_depthwise_constructor, "PreparedDepthwise");
    step.op = ChainStep::Op::Depthwise;
    step.depthwise_plan = layer.plan_for_dims(env, read_step_dims(object));
    step.depthwise_weights = layer.weights();
  } else if (op == "add") {
    step.op = ChainStep::Op::AddInput;
    step.elements = read_size(object, "elements", 0);
    read_activation(object, &step.activation, &step.negative_slope);
  } else if (op == "meanPool") {
    step.op = ChainStep::Op::MeanPool;
    step.planes = read_size(object, "planes", 0);
    step.pixels = read_size(object, "pixels", 0);
  } else if (op == "copy") {
    step.op = ChainStep::Op::Copy;
    step.elements = read_size(object, "elements", 0);
  } else {
    throw_range_error(env, "ERR_INVALID_ARG_VALUE", "unknown chain step op '" + op + "'");
  }
  return step;
}

}  // namespace

Napi::Function PreparedChain::define(Napi::Env env) {
  return DefineClass(env, "PreparedChain",
                     {InstanceMethod<&PreparedChain::run_async>("runAsync"),
                      InstanceMethod<&PreparedChain::arena_elements>("arenaElements"),
                      InstanceMethod<&PreparedChain::close>("close")});
}

PreparedChain::PreparedChain(const Napi::CallbackInfo& info) : Napi::ObjectWrap<PreparedChain>(info) {
  Napi::Env env = info.Env();
  guard(env, [&] {
    if (info.Length() < 2 || !info[0].IsArray() || !info[1].IsArray()) {
      throw_type_error(env, "ERR_INVALID_ARG_TYPE", "PreparedChain expects (steps, bufferElements)");
    }
    const Napi::Array step_values = info[0].As<Napi::Array>();
    const Napi::Array size_values = info[1].As<Napi::Array>();
    std::vector<ChainStep> steps;
    steps.reserve(step_values.Length());
    for (uint32_t i = 0; i < step_values.Length(); ++i) steps.push_back(read_step(step_values.Get(i)));
    std::vector<int64_t> buffer_elements;
    buffer_elements.reserve(size_values.Length());
    for (uint32_t i = 0; i < size_values.Length(); ++i) {
      buffer_elements.push_back(read_size_value(size_values.Get(i), "bufferElements[i]", 0));
    }
    chain_ = std::make_shared<const LayerChain>(std::move(steps), std::move(buffer_elements));
  });
}

Napi::Value PreparedChain::close(const Napi::CallbackInfo& info) {
  chain_.reset();  // in-flight calls hold their own reference and finish with it
  return info.Env().Undefined();
}

Napi::Value PreparedChain::arena_elements(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guard(env, [&]() -> Napi::Value {
    if (!chain_) throw_domain_error(env, "ERR_CLOSED", "the Sequential layer was closed");
    return Napi::Number::New(env, static_cast<double>(chain_->arena_elements()));
  });
}

Napi::Value PreparedChain::run_async(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guard(env, [&]() -> Napi::Value {
    if (!chain_) throw_domain_error(env, "ERR_CLOSED", "the Sequential layer was closed");
    std::shared_ptr<const LayerChain> chain = chain_;
    CallBuffers buffers = read_call_buffers(info, 0, 1, chain->input_elements(), chain->output_elements(),
                                            FloatView{}, FloatView{});
    if (chain->runs_convolutions()) BackendRegistry::instance().active();  // a failed BLAS rejects now
    const bool out_private = read_flag(info, 2), input_private = read_flag(info, 3);
    // Counted: the input snapshot (none when private), the result and the intermediates' arena.
    QueueTicket ticket = admit_async_call(env, input_private ? 0 : chain->input_elements(),
                                          chain->output_elements() + chain->arena_elements());
    WorkerJob job = [chain](const float* in, float* out) {
      ScratchBuffer arena(static_cast<size_t>(chain->arena_elements()));
      chain->run(in, out, arena.data());
    };
    return start_async_call(env, std::move(ticket), std::move(job), chain->output_elements(), buffers,
                            input_private, out_private);
  });
}

}  // namespace binding
}  // namespace conv1x1

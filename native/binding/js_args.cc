#include "js_args.h"

#include <cmath>
#include <string>

#include "js_errors.h"

namespace conv1x1 {
namespace binding {
namespace {

Activation parse_activation(Napi::Env env, const std::string& name) {
  if (name == "none") return Activation::None;
  if (name == "relu") return Activation::Relu;
  if (name == "relu6") return Activation::Relu6;
  if (name == "leaky_relu") return Activation::LeakyRelu;
  if (name == "sigmoid") return Activation::Sigmoid;
  if (name == "tanh") return Activation::Tanh;
  if (name == "silu") return Activation::Silu;
  if (name == "gelu") return Activation::Gelu;
  if (name == "hardswish") return Activation::Hardswish;
  throw_range_error(env, "ERR_INVALID_ARG_VALUE", "activation '" + name + "' is not supported");
}

}  // namespace

// Plain N-API calls, one query for everything: this runs on every call, twice, and the wrapper
// classes would query the same typed array several times over.
FloatView read_float32_array(const Napi::Value& value, const char* what) {
  Napi::Env env = value.Env();
  bool is_typed_array = false;
  napi_typedarray_type type = napi_int8_array;
  size_t length = 0;
  void* data = nullptr;
  napi_value buffer = nullptr;
  size_t byte_offset = 0;
  if (napi_is_typedarray(env, value, &is_typed_array) != napi_ok || !is_typed_array ||
      napi_get_typedarray_info(env, value, &type, &length, &data, &buffer, &byte_offset) != napi_ok ||
      type != napi_float32_array) {
    throw_type_error(env, "ERR_INVALID_ARG_TYPE", std::string(what) + " must be a Float32Array");
  }
  bool is_plain_buffer = false;
  napi_is_arraybuffer(env, buffer, &is_plain_buffer);
  if (!is_plain_buffer) {
    throw_type_error(env, "ERR_INVALID_ARG_TYPE",
                     std::string(what) + " is backed by a SharedArrayBuffer; an ordinary ArrayBuffer is required");
  }
  bool detached = false;
  napi_is_detached_arraybuffer(env, buffer, &detached);
  if (detached) {
    throw_type_error(env, "ERR_BUFFER_DETACHED",
                     std::string(what) + "'s ArrayBuffer is detached (it was transferred or freed)");
  }
  FloatView view;
  view.data = static_cast<float*>(data);  // napi_get_typedarray_info already adds byteOffset
  view.length = static_cast<int64_t>(length);
  return view;
}

void require_length(const FloatView& view, int64_t expected, const char* what) {
  if (view.length != expected) {
    throw Error(ErrorCode::ShapeMismatch, std::string(what) + " has " + std::to_string(view.length) +
                                              " elements but its shape needs " +
                                              std::to_string(expected));
  }
}

void require_disjoint(Napi::Env env, const FloatView& out, const FloatView& other, const char* what) {
  if (!out.data || !other.data || out.length == 0 || other.length == 0) return;
  const uintptr_t a0 = reinterpret_cast<uintptr_t>(out.data);
  const uintptr_t a1 = a0 + static_cast<uintptr_t>(out.length) * sizeof(float);
  const uintptr_t b0 = reinterpret_cast<uintptr_t>(other.data);
  const uintptr_t b1 = b0 + static_cast<uintptr_t>(other.length) * sizeof(float);
  if (a0 < b1 && b0 < a1) {
    throw_domain_error(env, "ERR_OVERLAP", std::string("out overlaps ") + what +
                                                " in memory; the output must be a separate buffer");
  }
}

int64_t read_size(const Napi::Object& object, const char* key, int64_t minimum) {
  return read_size_value(object.Get(key), key, minimum);
}

int64_t read_size_value(const Napi::Value& value, const char* key, int64_t minimum) {
  Napi::Env env = value.Env();
  if (!value.IsNumber()) {
    throw_type_error(env, "ERR_INVALID_ARG_TYPE", std::string(key) + " must be a number");
  }
  const double number = value.As<Napi::Number>().DoubleValue();
  // 2^53: every integer up to here is exact in a double, and far beyond any addressable size.
  if (!std::isfinite(number) || std::floor(number) != number || number < static_cast<double>(minimum) ||
      number > 9007199254740992.0) {
    throw_range_error(env, "ERR_OUT_OF_RANGE",
                      std::string(key) + " must be an integer >= " + std::to_string(minimum));
  }
  return static_cast<int64_t>(number);
}

void read_layer_params(const Napi::Object& object, ConvParams* p) {
  Napi::Env env = object.Env();
  p->in_channels = read_size(object, "inChannels", 0);
  p->out_channels = read_size(object, "outChannels", 0);
  p->stride_h = read_size(object, "strideH", 1);
  p->stride_w = read_size(object, "strideW", 1);
  p->pad_h = read_size(object, "padH", 0);
  p->pad_w = read_size(object, "padW", 0);
  p->groups = read_size(object, "groups", 1);
  Napi::Value layout = object.Get("layout");
  if (!layout.IsString()) throw_type_error(env, "ERR_INVALID_ARG_TYPE", "layout must be a string");
  const std::string layout_name = layout.As<Napi::String>().Utf8Value();
  if (layout_name != "nchw" && layout_name != "nhwc") {
    throw_range_error(env, "ERR_INVALID_ARG_VALUE", "layout must be 'nchw' or 'nhwc'");
  }
  p->layout = layout_name == "nchw" ? Layout::NCHW : Layout::NHWC;
  read_activation(object, &p->activation, &p->negative_slope);
}

void read_activation(const Napi::Object& object, Activation* activation, float* negative_slope) {
  Napi::Env env = object.Env();
  Napi::Value name = object.Get("activation");
  if (!name.IsString()) {
    throw_type_error(env, "ERR_INVALID_ARG_TYPE", "activation must be a string");
  }
  *activation = parse_activation(env, name.As<Napi::String>().Utf8Value());
  Napi::Value slope = object.Get("negativeSlope");
  if (!slope.IsNumber()) throw_type_error(env, "ERR_INVALID_ARG_TYPE", "negativeSlope must be a number");
  *negative_slope = slope.As<Napi::Number>().FloatValue();
}

void read_input_dims(const Napi::Object& object, ConvParams* p) {
  p->batch = read_size(object, "batch", 0);
  p->height = read_size(object, "height", 0);
  p->width = read_size(object, "width", 0);
}

InputDims read_input_dims(const Napi::CallbackInfo& info) {
  if (info.Length() < 3) {
    throw_type_error(info.Env(), "ERR_INVALID_ARG_TYPE", "expected (batch, height, width, …)");
  }
  InputDims dims;
  dims.batch = read_size_value(info[0], "batch", 0);
  dims.height = read_size_value(info[1], "height", 0);
  dims.width = read_size_value(info[2], "width", 0);
  return dims;
}

}  // namespace binding
}  // namespace conv1x1

#pragma once
// Reading JS arguments into plain structs, with the checks memory safety depends on (kind, length,
// detached, shared, overlap, integer sizes). Friendly validation of everything else is the facade's.
#include <napi.h>

#include <cstdint>
#include <string>

#include "../core/conv_params.h"

namespace conv1x1 {
namespace binding {

struct FloatView {
  float* data = nullptr;
  int64_t length = 0;
};

// A Float32Array over an ordinary, attached ArrayBuffer; anything else throws a TypeError naming `what`.
FloatView read_float32_array(const Napi::Value& value, const char* what);
void require_length(const FloatView& view, int64_t expected, const char* what);
// Throws when two views share any byte.
void require_disjoint(Napi::Env env, const FloatView& out, const FloatView& other, const char* what);

// The layer-level parameters (everything but batch and spatial sizes) from a plain object.
void read_layer_params(const Napi::Object& object, ConvParams* params);
// activation and negativeSlope from a plain object.
void read_activation(const Napi::Object& object, Activation* activation, float* negative_slope);
// batch, height, width from a plain object.
void read_input_dims(const Napi::Object& object, ConvParams* params);

// batch, height, width as the first three arguments of a prepared layer's call (numbers are read
// faster than an object's properties, and these calls are made per inference).
struct InputDims {
  int64_t batch = 0, height = 0, width = 0;
};
InputDims read_input_dims(const Napi::CallbackInfo& info);

int64_t read_size(const Napi::Object& object, const char* key, int64_t minimum);
int64_t read_size_value(const Napi::Value& value, const char* what, int64_t minimum);

}  // namespace binding
}  // namespace conv1x1

#include "js_errors.h"

namespace conv1x1 {
namespace binding {

Napi::Error make_js_error(Napi::Env env, JsErrorKind kind, const char* code,
                          const std::string& message) {
  Napi::Error error = kind == JsErrorKind::Type    ? Napi::TypeError::New(env, message)
                      : kind == JsErrorKind::Range ? Napi::RangeError::New(env, message)
                                                   : Napi::Error::New(env, message);
  error.Set("code", Napi::String::New(env, code));
  return error;
}

const char* error_code_name(ErrorCode code) {
  switch (code) {
    case ErrorCode::OutOfRange: return "ERR_OUT_OF_RANGE";
    case ErrorCode::ShapeMismatch: return "ERR_SHAPE_MISMATCH";
    case ErrorCode::TooLarge: return "ERR_TOO_LARGE";
    case ErrorCode::BackendLoad: return "ERR_BLAS_LOAD";
    case ErrorCode::OutOfMemory: return "ERR_OUT_OF_MEMORY";
    case ErrorCode::Internal: return "ERR_INTERNAL";
  }
  return "ERR_INTERNAL";
}

Napi::Error make_js_error(Napi::Env env, const Error& error) {
  JsErrorKind kind = JsErrorKind::Domain;
  if (error.code() == ErrorCode::OutOfRange || error.code() == ErrorCode::TooLarge) {
    kind = JsErrorKind::Range;
  }
  return make_js_error(env, kind, error_code_name(error.code()), error.what());
}

void throw_type_error(Napi::Env env, const char* code, const std::string& message) {
  throw make_js_error(env, JsErrorKind::Type, code, message);
}

void throw_range_error(Napi::Env env, const char* code, const std::string& message) {
  throw make_js_error(env, JsErrorKind::Range, code, message);
}

void throw_domain_error(Napi::Env env, const char* code, const std::string& message) {
  throw make_js_error(env, JsErrorKind::Domain, code, message);
}

}  // namespace binding
}  // namespace conv1x1

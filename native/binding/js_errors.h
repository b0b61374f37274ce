#pragma once
// Every error the addon throws: a JS TypeError, RangeError or Error carrying a stable `code`. The
// facade turns plain Errors with our codes into Conv1x1Error.
#include <napi.h>

#include <string>

#include "../core/error.h"

namespace conv1x1 {
namespace binding {

enum class JsErrorKind { Type, Range, Domain };

Napi::Error make_js_error(Napi::Env env, JsErrorKind kind, const char* code, const std::string& message);
Napi::Error make_js_error(Napi::Env env, const Error& error);
const char* error_code_name(ErrorCode code);

[[noreturn]] void throw_type_error(Napi::Env env, const char* code, const std::string& message);
[[noreturn]] void throw_range_error(Napi::Env env, const char* code, const std::string& message);
[[noreturn]] void throw_domain_error(Napi::Env env, const char* code, const std::string& message);

// Runs body, turning core errors and allocation failures into JS exceptions: nothing from the core
// may escape to N-API as a C++ exception.
template <typename Body>
auto guard(Napi::Env env, Body body) -> decltype(body()) {
  try {
    return body();
  } catch (const Error& error) {
    throw make_js_error(env, error);
  } catch (const std::bad_alloc&) {
    throw make_js_error(env, JsErrorKind::Domain, "ERR_OUT_OF_MEMORY", "out of memory");
  } catch (const Napi::Error&) {
    throw;
  } catch (const std::exception& error) {
    throw make_js_error(env, JsErrorKind::Domain, "ERR_INTERNAL", error.what());
  }
}

}  // namespace binding
}  // namespace conv1x1

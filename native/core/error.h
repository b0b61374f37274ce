#pragma once
// Errors raised by the N-API-free core. The binding maps each code to a JS error class and a stable
// `code` string; messages name the argument, what was expected and what came.
#include <stdexcept>
#include <string>

namespace conv1x1 {

enum class ErrorCode {
  OutOfRange,       // a value outside its allowed range (RangeError)
  ShapeMismatch,    // shapes that do not fit together (Conv1x1Error)
  TooLarge,         // sizes whose products overflow or exceed what one call can address (RangeError)
  BackendLoad,      // an explicitly requested BLAS that could not be used (Conv1x1Error)
  OutOfMemory,      // a scratch allocation failed (Conv1x1Error)
  Internal,         // anything else native code threw: a bug to report (Conv1x1Error)
};

class Error : public std::runtime_error {
 public:
  Error(ErrorCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
  ErrorCode code() const { return code_; }

 private:
  ErrorCode code_;
};

}  // namespace conv1x1

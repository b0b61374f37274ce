#pragma once
// Checks that a call fails with a given conv1x1::Error code (and not with anything else).
#include <exception>
#include <string>

#include "../core/error.h"
#include "check.h"

namespace conv1x1 {
namespace test {

inline const char* error_code_label(ErrorCode code) {
  switch (code) {
    case ErrorCode::OutOfRange: return "OutOfRange";
    case ErrorCode::ShapeMismatch: return "ShapeMismatch";
    case ErrorCode::TooLarge: return "TooLarge";
    case ErrorCode::BackendLoad: return "BackendLoad";
    case ErrorCode::OutOfMemory: return "OutOfMemory";
    case ErrorCode::Internal: return "Internal";
  }
  return "?";
}

template <typename Call>
void expect_error(Call call, ErrorCode expected, const std::string& what) {
  try {
    call();
    check(false, what + ": no error, expected " + error_code_label(expected));
  } catch (const Error& e) {
    check(e.code() == expected, what + ": " + error_code_label(e.code()) + " (" + e.what() +
                                    "), expected " + error_code_label(expected));
  } catch (const std::exception& e) {
    check(false, what + ": threw a plain std::exception: " + e.what());
  }
}

}  // namespace test
}  // namespace conv1x1

#pragma once
// Size arithmetic that refuses to wrap: every product of user-given dimensions goes through here.
#include <cstdint>
#include <string>

#include "error.h"

namespace conv1x1 {

// Operands are sizes: non-negative by contract (make_plan checks that before multiplying).
inline int64_t checked_mul(int64_t a, int64_t b, const char* what) {
  if (a != 0 && b > INT64_MAX / a) {
    throw Error(ErrorCode::TooLarge, std::string(what) + " overflows 64 bits");
  }
  return a * b;
}

inline int64_t checked_add(int64_t a, int64_t b, const char* what) {
  if (b > INT64_MAX - a) {
    throw Error(ErrorCode::TooLarge, std::string(what) + " overflows 64 bits");
  }
  return a + b;
}

}  // namespace conv1x1

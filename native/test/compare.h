#pragma once
// Float32 results against the float64 oracle, with a tolerance that grows with K:
// |got − ref| ≤ 1e-5·(1 + |ref|) + 4·K·FLT_EPSILON·Σ|x·w|.
#include <cstdint>
#include <string>
#include <vector>

#include "reference.h"

namespace conv1x1 {
namespace test {

struct Comparison {
  bool ok = true;
  double max_error = 0.0;        // over outputs that are not NaN
  double max_error_ratio = 0.0;  // max_error as a fraction of that output's tolerance
  std::string first_mismatch;    // index, got and expected, when !ok
};

double tolerance(double expected, double magnitude, int64_t depth);

// NaN matches NaN only; any other NaN (such as an output the core never wrote) is a mismatch.
Comparison compare_to_reference(const std::vector<float>& got, const ReferenceOutput& reference);

}  // namespace test
}  // namespace conv1x1

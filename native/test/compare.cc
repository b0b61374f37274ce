#include "compare.h"

#include <cfloat>
#include <cmath>

namespace conv1x1 {
namespace test {

double tolerance(double expected, double magnitude, int64_t depth) {
  return 1e-5 * (1.0 + std::fabs(expected)) +
         4.0 * static_cast<double>(depth) * FLT_EPSILON * magnitude;
}

Comparison compare_to_reference(const std::vector<float>& got, const ReferenceOutput& reference) {
  Comparison result;
  if (got.size() != reference.value.size()) {
    result.ok = false;
    result.first_mismatch = "size " + std::to_string(got.size()) + " instead of " +
                            std::to_string(reference.value.size());
    return result;
  }
  for (size_t i = 0; i < got.size(); ++i) {
    const double expected = reference.value[i], actual = got[i];
    bool match;
    if (std::isnan(expected) || std::isnan(actual)) {
      match = std::isnan(expected) && std::isnan(actual);
    } else {
      const double error = std::fabs(actual - expected);
      const double allowed = tolerance(expected, reference.magnitude[i], reference.depth);
      match = error <= allowed;
      if (error > result.max_error) result.max_error = error;
      if (error / allowed > result.max_error_ratio) result.max_error_ratio = error / allowed;
    }
    if (!match && result.ok) {
      result.ok = false;
      result.first_mismatch = "output[" + std::to_string(i) + "] = " + std::to_string(actual) +
                              ", expected " + std::to_string(expected);
    }
  }
  return result;
}

}  // namespace test
}  // namespace conv1x1

#pragma once
// Test data: uniform floats in [−limit, limit] from a seeded generator, so every run sees the same cases.
#include <cstdint>
#include <random>
#include <vector>

namespace conv1x1 {
namespace test {

inline std::vector<float> random_floats(int64_t count, float limit, std::mt19937& rng) {
  std::uniform_real_distribution<float> uniform(-limit, limit);
  std::vector<float> values(static_cast<size_t>(count));
  for (float& v : values) v = uniform(rng);
  return values;
}

}  // namespace test
}  // namespace conv1x1

#pragma once
// The whole test harness: a check counts instead of aborting, so one run lists every failure, and the
// summary line decides the exit code ctest sees.
#include <cstdio>
#include <string>

namespace conv1x1 {
namespace test {

struct CheckCounts {
  long passed = 0;
  long failed = 0;
};

inline CheckCounts& check_counts() {
  static CheckCounts counts;
  return counts;
}

// Only the first failures are printed: a broken kernel fails thousands of cases the same way.
constexpr long kPrintedFailures = 40;

inline bool check(bool ok, const std::string& what) {
  CheckCounts& counts = check_counts();
  if (ok) {
    ++counts.passed;
    return true;
  }
  if (++counts.failed <= kPrintedFailures) std::printf("FAILED: %s\n", what.c_str());
  return false;
}

// Prints "N passed, N failed" and returns the process exit code.
inline int report_checks() {
  const CheckCounts& counts = check_counts();
  std::printf("%ld passed, %ld failed\n", counts.passed, counts.failed);
  return counts.failed == 0 ? 0 : 1;
}

}  // namespace test
}  // namespace conv1x1

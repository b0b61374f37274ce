#include <cstdio>
#include <exception>

#include "check.h"
#include "suites.h"

int main() {
  using namespace conv1x1::test;
  // An exception escaping a suite is a failure of that suite, not a crash that hides the summary.
  for (void (*suite)() : {run_plan_tests, run_blas_splitting_tests, run_conv_numerics_tests,
                            run_depthwise_tests, run_pointwise_tests, run_kept_buffers_tests}) {
    try {
      suite();
    } catch (const std::exception& e) {
      check(false, std::string("uncaught exception: ") + e.what());
    }
  }
  return report_checks();
}

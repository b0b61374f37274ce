#pragma once
// The test suites main() runs, one per source file; each records its results through check().

namespace conv1x1 {
namespace test {

void run_plan_tests();
void run_blas_splitting_tests();
void run_conv_numerics_tests();
void run_depthwise_tests();
void run_pointwise_tests();
void run_kept_buffers_tests();

}  // namespace test
}  // namespace conv1x1

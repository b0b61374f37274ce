// Baseline build: SSE2 on x86-64, NEON on arm64 (both part of the base ISA), scalar elsewhere.
#define CONV1X1_KERNEL_ISA portable
#define CONV1X1_KERNEL_NR 8
#include "gemm_blocked_impl.h"

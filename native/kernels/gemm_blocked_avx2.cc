// Built with -mavx2 -mfma; called only when the CPU and OS report AVX2 and FMA.
#define CONV1X1_KERNEL_ISA avx2
#define CONV1X1_KERNEL_NR 16
#include "gemm_blocked_impl.h"

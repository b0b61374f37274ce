// Built with -mavx512f -mavx2 -mfma; called only when the CPU and OS report AVX-512F.
#define CONV1X1_KERNEL_ISA avx512
#define CONV1X1_KERNEL_NR 32
#include "gemm_blocked_impl.h"

// The floor of raw BLAS: times cblas_sgemm alone, with no Node, no addon and no conv bookkeeping, on the
// exact GEMM of an NCHW 1×1 conv: C[M×N] = A[M×K] · B[K×N], row-major, β = 0, with M = Cout, N = H·W,
// K = Cin. The library is dlopen'ed at run time, never linked, so any CBLAS can be measured.
//
//   gcc -O2 -Wall -Wextra bench/blas-floor.c -o build-bench/blas-floor -ldl
//   build-bench/blas-floor [--lib PATH] [--threads T] [--reps R] [--warmup W] [--json] [M N K]...
#define _POSIX_C_SOURCE 200809L  // clock_gettime under a strict -std=c11
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

// CBLAS enum values, spelled out so that no cblas.h is needed to build.
enum { kRowMajor = 101, kNoTrans = 111 };

typedef void (*CblasSgemm)(int order, int trans_a, int trans_b, int m, int n, int k, float alpha,
                           const float* a, int lda, const float* b, int ldb, float beta, float* c,
                           int ldc);
typedef void (*SetThreads)(int);
typedef int (*GetThreads)(void);
typedef const char* (*GetConfig)(void);

typedef struct {
  int m, n, k;
} Shape;

typedef struct {
  double median_ms, p10_ms, p90_ms, gflops;
} Timing;

// ResNet-50, stage 1 expansion: 56×56, 64 → 256 channels.
static const Shape kDefaultShapes[] = {{256, 3136, 64}};

static void usage(FILE* out) {
  fprintf(out,
          "usage: blas-floor [--lib PATH] [--threads T] [--reps R] [--warmup W] [--json] [M N K]...\n"
          "  times C[MxN] = A[MxK] * B[KxN] (row-major, beta = 0) with the library's cblas_sgemm\n"
          "  --lib PATH     CBLAS library to dlopen (default libopenblas.so.0)\n"
          "  --threads T    call openblas_set_num_threads(T) if the library has it\n"
          "  --reps R       timed calls per shape, median reported (default 200)\n"
          "  --warmup W     untimed calls first (default 20)\n"
          "  --json         one JSON line per shape\n"
          "  M N K          shapes to time (default 256 3136 64: ResNet-50 56x56 64->256)\n");
}

static int parse_int(const char* what, const char* text, int min, int* out) {
  char* end = NULL;
  errno = 0;
  long value = strtol(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || value < min || value > INT_MAX) {
    fprintf(stderr, "blas-floor: expected integer >= %d for %s but received \"%s\"\n", min, what, text);
    return 0;
  }
  *out = (int)value;
  return 1;
}

// Deterministic values in [-1, 1]: xorshift64*, top 24 bits mapped exactly onto floats.
static void fill_uniform(float* x, size_t count, uint64_t seed) {
  uint64_t s = seed;
  for (size_t i = 0; i < count; i++) {
    s ^= s >> 12;
    s ^= s << 25;
    s ^= s >> 27;
    uint64_t r = (s * 0x2545F4914F6CDD1DULL) >> 40;
    x[i] = (float)r / (float)(1u << 23) - 1.0f;
  }
}

// cblas takes int sizes (parse_int caps them at INT_MAX) but M·N elements can exceed that: count in size_t.
static float* alloc_matrix(size_t rows, size_t cols) {
  if (cols != 0 && rows > (SIZE_MAX - 63) / sizeof(float) / cols) return NULL;
  size_t bytes = (rows * cols * sizeof(float) + 63) & ~(size_t)63;
  return aligned_alloc(64, bytes);
}

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e3 + (double)t.tv_nsec * 1e-6;
}

static int compare_double(const void* a, const void* b) {
  double x = *(const double*)a, y = *(const double*)b;
  return (x > y) - (x < y);
}

// Quantile of sorted values, linearly interpolated between ranks (q = 0.5 is the usual median).
static double quantile(const double* sorted, int count, double q) {
  double pos = q * (count - 1);
  int lo = (int)pos;
  if (lo >= count - 1) return sorted[count - 1];
  return sorted[lo] + (pos - lo) * (sorted[lo + 1] - sorted[lo]);
}

// Checks the corners and a spread of pseudo-random elements against a float64 dot product. The error is
// relative to Σ|a·b|, the scale of the rounding error, so cancellation to near 0 does not fail a correct sum.
static int verify(const Shape* s, const float* a, const float* b, const float* c) {
  const int samples = 64;
  uint64_t r = 0x9E3779B97F4A7C15ULL;
  for (int t = 0; t < samples + 4; t++) {
    size_t i, j;
    if (t < 4) {
      i = (t & 1) ? (size_t)s->m - 1 : 0;
      j = (t & 2) ? (size_t)s->n - 1 : 0;
    } else {
      r = r * 6364136223846793005ULL + 1442695040888963407ULL;
      i = (size_t)((r >> 33) % (uint64_t)s->m);
      j = (size_t)((r >> 17) % (uint64_t)s->n);
    }
    double dot = 0.0, scale = 0.0;
    for (size_t p = 0; p < (size_t)s->k; p++) {
      double term = (double)a[i * s->k + p] * (double)b[p * s->n + j];
      dot += term;
      scale += fabs(term);
    }
    double got = c[i * s->n + j];
    double error = fabs(got - dot) / (scale > 0.0 ? scale : 1.0);
    if (!(error <= 1e-3)) {  // also catches NaN: β = 0 must overwrite the NaN-filled C
      fprintf(stderr,
              "blas-floor: wrong result for M=%d N=%d K=%d at C[%zu][%zu]: got %.9g, expected %.9g "
              "(relative error %.3g > 1e-3)\n",
              s->m, s->n, s->k, i, j, got, dot, error);
      return 0;
    }
  }
  return 1;
}

// Returns 0 on success, 1 on a wrong result or an allocation failure.
static int time_shape(CblasSgemm sgemm, const Shape* s, int reps, int warmup, Timing* out) {
  float* a = alloc_matrix((size_t)s->m, (size_t)s->k);
  float* b = alloc_matrix((size_t)s->k, (size_t)s->n);
  float* c = alloc_matrix((size_t)s->m, (size_t)s->n);
  double* ms = malloc((size_t)reps * sizeof(double));
  int status = 1;
  if (!a || !b || !c || !ms) {
    fprintf(stderr, "blas-floor: out of memory for M=%d N=%d K=%d\n", s->m, s->n, s->k);
    goto done;
  }
  fill_uniform(a, (size_t)s->m * s->k, 0x0123456789ABCDEFULL);
  fill_uniform(b, (size_t)s->k * s->n, 0xFEDCBA9876543210ULL);
  for (size_t i = 0; i < (size_t)s->m * s->n; i++) c[i] = NAN;

  sgemm(kRowMajor, kNoTrans, kNoTrans, s->m, s->n, s->k, 1.0f, a, s->k, b, s->n, 0.0f, c, s->n);
  if (!verify(s, a, b, c)) goto done;

  for (int r = 0; r < warmup; r++)
    sgemm(kRowMajor, kNoTrans, kNoTrans, s->m, s->n, s->k, 1.0f, a, s->k, b, s->n, 0.0f, c, s->n);
  for (int r = 0; r < reps; r++) {
    double start = now_ms();
    sgemm(kRowMajor, kNoTrans, kNoTrans, s->m, s->n, s->k, 1.0f, a, s->k, b, s->n, 0.0f, c, s->n);
    ms[r] = now_ms() - start;
  }
  qsort(ms, (size_t)reps, sizeof(double), compare_double);
  out->median_ms = quantile(ms, reps, 0.5);
  out->p10_ms = quantile(ms, reps, 0.1);
  out->p90_ms = quantile(ms, reps, 0.9);
  out->gflops = 2.0 * s->m * (double)s->n * s->k / (out->median_ms * 1e-3) / 1e9;
  status = 0;
done:
  free(a);
  free(b);
  free(c);
  free(ms);
  return status;
}

int main(int argc, char** argv) {
  const char* library = "libopenblas.so.0";
  int threads = 0, reps = 200, warmup = 20, json = 0;
  Shape shapes[argc / 3 + 1];  // at most one shape per three arguments
  int shape_count = 0;
  const char* pending[3];
  int pending_count = 0;

  for (int i = 1; i < argc; i++) {
    const char* arg = argv[i];
    int has_value = i + 1 < argc;
    if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
      usage(stdout);
      return 0;
    } else if (strcmp(arg, "--json") == 0) {
      json = 1;
    } else if (strcmp(arg, "--lib") == 0 && has_value) {
      library = argv[++i];
    } else if (strcmp(arg, "--threads") == 0 && has_value) {
      if (!parse_int("--threads", argv[++i], 1, &threads)) return 2;
    } else if (strcmp(arg, "--reps") == 0 && has_value) {
      if (!parse_int("--reps", argv[++i], 1, &reps)) return 2;
    } else if (strcmp(arg, "--warmup") == 0 && has_value) {
      if (!parse_int("--warmup", argv[++i], 0, &warmup)) return 2;
    } else if (arg[0] == '-' && arg[1] == '-') {
      fprintf(stderr, "blas-floor: unknown option or missing value: %s\n", arg);
      usage(stderr);
      return 2;
    } else {
      pending[pending_count++] = arg;
      if (pending_count == 3) {
        Shape* s = &shapes[shape_count++];
        if (!parse_int("M", pending[0], 1, &s->m) || !parse_int("N", pending[1], 1, &s->n) ||
            !parse_int("K", pending[2], 1, &s->k))
          return 2;
        pending_count = 0;
      }
    }
  }
  if (pending_count != 0) {
    fprintf(stderr, "blas-floor: shapes come as M N K triples; %d trailing value(s)\n", pending_count);
    return 2;
  }
  if (shape_count == 0) {
    shape_count = (int)(sizeof kDefaultShapes / sizeof kDefaultShapes[0]);
    memcpy(shapes, kDefaultShapes, sizeof kDefaultShapes);
  }

  // RTLD_LOCAL: the library's symbols are reached through dlsym only, as the addon reaches them.
  void* handle = dlopen(library, RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    fprintf(stderr, "blas-floor: cannot load %s: %s\n", library, dlerror());
    return 1;
  }
  CblasSgemm sgemm = (CblasSgemm)dlsym(handle, "cblas_sgemm");
  SetThreads set_threads = (SetThreads)dlsym(handle, "openblas_set_num_threads");
  GetThreads get_threads = (GetThreads)dlsym(handle, "openblas_get_num_threads");
  GetConfig get_config = (GetConfig)dlsym(handle, "openblas_get_config");
  if (!sgemm) {
    fprintf(stderr, "blas-floor: %s has no cblas_sgemm symbol: it is not a CBLAS library\n", library);
    return 1;
  }
  const char* config = get_config ? get_config() : NULL;
  // An ILP64 OpenBLAS exports the same name taking 64-bit sizes; calling it with ints reads garbage.
  if (config && strstr(config, "USE64BITINT")) {
    fprintf(stderr, "blas-floor: %s is an ILP64 build (%s); this program passes 32-bit ints\n", library,
            config);
    return 1;
  }
  if (threads > 0) {
    if (set_threads)
      set_threads(threads);
    else
      fprintf(stderr, "blas-floor: %s has no openblas_set_num_threads; --threads %d ignored\n", library,
              threads);
  }
  // Report the count the library says it uses; the requested one only if it cannot say; else unknown.
  int effective_threads = get_threads ? get_threads() : (set_threads ? threads : 0);

  if (!json) {
    printf("library %s%s%s\n", library, config ? ": " : "", config ? config : "");
    if (effective_threads > 0)
      printf("threads %d, reps %d, warmup %d\n", effective_threads, reps, warmup);
    else
      printf("threads unknown (library default), reps %d, warmup %d\n", reps, warmup);
    printf("%6s %8s %6s %10s %10s %10s %9s\n", "M", "N", "K", "median ms", "p10 ms", "p90 ms", "GFLOP/s");
  }
  for (int i = 0; i < shape_count; i++) {
    Timing t;
    if (time_shape(sgemm, &shapes[i], reps, warmup, &t) != 0) return 1;
    if (json) {
      printf("{\"m\":%d,\"n\":%d,\"k\":%d,\"threads\":", shapes[i].m, shapes[i].n, shapes[i].k);
      if (effective_threads > 0)
        printf("%d", effective_threads);
      else
        printf("null");
      printf(",\"median_ms\":%.6f,\"p10_ms\":%.6f,\"p90_ms\":%.6f,\"gflops\":%.3f}\n", t.median_ms,
             t.p10_ms, t.p90_ms, t.gflops);
    } else {
      printf("%6d %8d %6d %10.4f %10.4f %10.4f %9.2f\n", shapes[i].m, shapes[i].n, shapes[i].k,
             t.median_ms, t.p10_ms, t.p90_ms, t.gflops);
    }
    fflush(stdout);
  }
  // No dlclose: OpenBLAS's worker threads may still be parked inside the library at exit.
  return 0;
}

#include "blas_backend.h"

#include <algorithm>
#include <cstdlib>

namespace conv1x1 {
namespace {

constexpr int kRowMajor = 101, kNoTrans = 111, kTrans = 112;

template <typename Fn>
Fn lookup(const DynamicLibrary& library, const char* name) {
  return reinterpret_cast<Fn>(library.symbol(name));
}

}  // namespace

BlasBackend::BlasBackend(CblasSgemm sgemm, const GemmBackend* fallback, int64_t int_limit)
    : sgemm_(sgemm), fallback_(fallback), int_limit_(int_limit), name_("blas") {}

std::unique_ptr<BlasBackend> BlasBackend::load(const std::string& library, const GemmBackend* fallback,
                                              std::string* error) {
  std::unique_ptr<BlasBackend> blas(new BlasBackend());
  blas->fallback_ = fallback;
  if (!blas->library_.open(library, error)) return nullptr;
  blas->path_ = blas->library_.resolved_path();
  blas->sgemm_ = lookup<CblasSgemm>(blas->library_, "cblas_sgemm");
  if (!blas->sgemm_) {
    *error = blas->path_ + " has no cblas_sgemm symbol: it is not a CBLAS library";
    return nullptr;
  }
  using ConfigFn = const char* (*)();
  if (auto config = lookup<ConfigFn>(blas->library_, "openblas_get_config")) {
    const char* text = config();
    blas->version_ = text ? text : "";
    // An ILP64 build exports the same cblas_sgemm name with 64-bit ints: calling it with ints would
    // read garbage sizes.
    if (blas->version_.find("USE64BITINT") != std::string::npos) {
      *error = blas->path_ + " is a 64-bit-integer (ILP64) OpenBLAS build (" + blas->version_ +
               "); conv1x1 needs the 32-bit-integer (LP64) interface";
      return nullptr;
    }
    blas->name_ = "openblas";
    blas->identified_ = true;
    blas->set_threads_ = lookup<void (*)(int)>(blas->library_, "openblas_set_num_threads");
    blas->shutdown_threads_ = lookup<int (*)()>(blas->library_, "blas_thread_shutdown_");
    // An OpenMP build keeps its thread count per calling thread: it is set on each of ours.
    auto parallel = lookup<int (*)()>(blas->library_, "openblas_get_parallel");
    constexpr int kOpenBlasOpenMp = 2;
    blas->threads_per_calling_thread_ = parallel && parallel() == kOpenBlasOpenMp;
  } else if (lookup<void*>(blas->library_, "MKL_Get_Version_String")) {
    // MKL_INTERFACE_LAYER=ILP64 in the environment would make libmkl_rt read 64-bit sizes.
    auto set_layer = lookup<int (*)(int)>(blas->library_, "MKL_Set_Interface_Layer");
    constexpr int kMklInterfaceLp64 = 0;
    if (set_layer && set_layer(kMklInterfaceLp64) != kMklInterfaceLp64) {
      *error = blas->path_ + " could not be switched to the 32-bit-integer (LP64) interface";
      return nullptr;
    }
    blas->name_ = "mkl";
    blas->identified_ = true;
    blas->set_threads_ = lookup<void (*)(int)>(blas->library_, "MKL_Set_Num_Threads");
  } else if (lookup<void*>(blas->library_, "flexiblas_get_version")) {
    blas->name_ = "flexiblas";
    blas->identified_ = true;
    blas->set_threads_ = lookup<void (*)(int)>(blas->library_, "flexiblas_set_num_threads");
  } else if (auto blis_version = lookup<const char* (*)()>(blas->library_, "bli_info_get_version_str")) {
    blas->name_ = "blis";
    blas->identified_ = true;
    const char* text = blis_version();
    blas->version_ = text ? text : "";
  } else if (library.find("Accelerate") != std::string::npos) {
    blas->name_ = "accelerate";
    blas->identified_ = true;
  }
  return blas;
}

void BlasBackend::use_single_thread() const {
  if (set_threads_) set_threads_(1);
  // OpenBLAS started its worker threads when it loaded, and they spin for a while (~0.1 s) before
  // they sleep, taking a core from our tiles. With one thread OpenBLAS never needs them again
  // (it restarts them only for a threaded call), so they are stopped, as its fork handler does.
  if (shutdown_threads_) shutdown_threads_();
}

void BlasBackend::sgemm(const GemmArgs& g) const {
  if (g.m <= 0 || g.n <= 0 || g.k <= 0) return;
  // Row-major leading dimensions bound the other sizes (lda >= K, ldb >= N or K, ldc >= N), so once
  // they fit an int, only M can still be too large: it is split into pieces of at most int_limit_ rows.
  if (g.lda > int_limit_ || g.ldb > int_limit_ || g.ldc > int_limit_) {
    fallback_->sgemm(g);
    return;
  }
  if (threads_per_calling_thread_) {
    thread_local bool single_threaded = false;
    if (!single_threaded && set_threads_) set_threads_(1);
    single_threaded = true;
  }
  for (int64_t i = 0; i < g.m; i += int_limit_) {
    const int64_t m = std::min(int_limit_, g.m - i);
    sgemm_(kRowMajor, kNoTrans, g.b_transposed ? kTrans : kNoTrans, static_cast<int>(m),
           static_cast<int>(g.n), static_cast<int>(g.k), 1.0f, g.a + i * g.lda, static_cast<int>(g.lda),
           g.b, static_cast<int>(g.ldb), 0.0f, g.c + i * g.ldc, static_cast<int>(g.ldc));
  }
}

}  // namespace conv1x1

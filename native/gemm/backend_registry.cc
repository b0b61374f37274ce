#include "backend_registry.h"

#include <atomic>
#include <cstdlib>
#include <thread>

#include "../core/error.h"
#include "../platform/compute_slots.h"
#include "../platform/parallel.h"


namespace conv1x1 {
namespace {

// Where each platform's optimized CBLAS usually lives, best first. A bare libblas is accepted only
// when it identifies itself as an optimized build (it may be the slow reference implementation).
std::vector<std::string> candidate_libraries() {
#if defined(__APPLE__)
  return {"/System/Library/Frameworks/Accelerate.framework/Accelerate"};
#elif defined(_WIN32)
  return {"openblas.dll", "libopenblas.dll"};
#else
  // libopenblas.so.3: Alpine's name for it.
  return {"libopenblas.so.0", "libopenblas.so.3", "libopenblas.so", "libflexiblas.so.3", "libmkl_rt.so.2",
          "libmkl_rt.so", "libblis.so.4", "libblas.so.3", "libcblas.so.3"};
#endif
}

enum class Selection { Auto, Blas, Builtin };

std::atomic<Selection>& selection() {
  static std::atomic<Selection> value{Selection::Builtin};
  return value;
}

const char* selection_name(Selection s) {
  return s == Selection::Auto ? "auto" : (s == Selection::Blas ? "blas" : "builtin");
}

// The per-shape rule of "auto". Measured with `npm run bench` on AVX-512 (bench/results): the packed
// kernels beat OpenBLAS 0.3.21 on 38 of the suite's 40 cells (1 and 2 threads) and come within 7% on
// the other two, so with AVX2 or better (or NEON) they run everything; the portable kernels (SSE2 and
// older) lose to any optimized BLAS.
bool builtin_is_faster(const ConvPlan&, SimdLevel level) {
  return level == SimdLevel::Avx512f || level == SimdLevel::Avx2Fma || level == SimdLevel::Neon;
}

// CONV1X1_THREADS: threads per call, clamped to the cores; unset or not a positive integer: cores.
int threads_from_environment(int cores) {
  const char* text = std::getenv("CONV1X1_THREADS");
  if (!text || !*text) return cores;
  char* end = nullptr;
  long value = std::strtol(text, &end, 10);
  if (*end != '\0' || value < 1) return cores;
  return value > cores ? cores : static_cast<int>(value);
}

}  // namespace

BackendRegistry& BackendRegistry::instance() {
  // Never destroyed: BLAS libraries and their thread pools must outlive every Node environment.
  static BackendRegistry* registry = new BackendRegistry();
  return *registry;
}

BackendRegistry::BackendRegistry()
    : isa_(choose_isa(detect_simd_level())),
      pointwise_(&pointwise_kernels_for(isa_.level)),
      builtin_(new BuiltinBackend(isa_.level)),
      cores_(available_cores()) {
  choose_blas();
  selection() = blas_ ? Selection::Auto : Selection::Builtin;
  // CONV1X1_ENGINE=auto|blas|builtin: the engine for the whole process (blas needs a BLAS loaded).
  const char* engine = std::getenv("CONV1X1_ENGINE");
  if (engine && *engine && load_error_.empty()) {
    const std::string wanted = engine;
    if (wanted != "auto" && wanted != "blas" && wanted != "builtin") {
      engine_note_ = "CONV1X1_ENGINE=" + wanted + " ignored: not one of auto, blas, builtin";
    } else if (!select(wanted)) {
      engine_note_ = "CONV1X1_ENGINE=" + wanted + " ignored: no BLAS is loaded";
    }
  }
  set_threads(threads_from_environment(cores_));
}

void BackendRegistry::choose_blas() {
  const char* requested = std::getenv("CONV1X1_BLAS");
  std::string error;
  if (requested && *requested) {
    std::string name = requested;
    if (name == "none" || name == "builtin") {
      blas_note_ = "CONV1X1_BLAS=" + name;
      return;
    }
    blas_ = BlasBackend::load(name, builtin_.get(), &error);
    if (!blas_) load_error_ = "CONV1X1_BLAS=" + name + " could not be used: " + error;
  } else {
    for (const std::string& candidate : candidate_libraries()) {
      std::string candidate_error;
      std::unique_ptr<BlasBackend> blas = BlasBackend::load(candidate, builtin_.get(), &candidate_error);
      if (blas && blas->identified()) {
        blas_ = std::move(blas);
        break;
      }
      if (error.empty() && !candidate_error.empty()) error = candidate_error;
    }
    if (!blas_) blas_note_ = "no optimized CBLAS library found (first error: " + error + ")";
  }
  if (blas_) blas_->use_single_thread();
}

const GemmBackend& BackendRegistry::active() const {
  if (!load_error_.empty()) throw Error(ErrorCode::BackendLoad, load_error_);
  if (blas_ && selection() != Selection::Builtin) return *blas_;
  return *builtin_;
}

ConvEngine BackendRegistry::engine_for(const ConvPlan& plan) const {
  const GemmBackend& gemm = active();
  ConvEngine engine;
  engine.gemm = &gemm;
  const Selection s = selection();
  if (&gemm == builtin_.get() || (s == Selection::Auto && builtin_is_faster(plan, isa_.level))) {
    engine.gemm = builtin_.get();
    engine.pointwise = pointwise_;
  }
  return engine;
}

bool BackendRegistry::select(const std::string& kind) {
  if (!load_error_.empty()) throw Error(ErrorCode::BackendLoad, load_error_);
  if (kind == "builtin") {
    selection() = Selection::Builtin;
    return true;
  }
  if ((kind == "blas" || kind == "auto") && blas_) {
    selection() = kind == "blas" ? Selection::Blas : Selection::Auto;
    return true;
  }
  return false;
}

void BackendRegistry::set_threads(int threads) { ComputeSlots::instance().reconfigure(threads, cores_); }

int BackendRegistry::threads() const { return ComputeSlots::instance().threads_per_call(); }

BackendInfo BackendRegistry::info() const {
  const GemmBackend& backend = active();
  BackendInfo info;
  info.name = backend.name();
  info.simd = simd_level_name(detect_simd_level());
  info.kernels = pointwise_->isa;
  info.kernels_note = isa_.note;
  info.selection = selection_name(selection());
  info.engine_note = engine_note_;
  info.threads = threads();
  info.max_concurrent_calls = ComputeSlots::instance().slots();
  info.cores = cores_;
  if (&backend == blas_.get()) {
    info.path = blas_->path();
    info.version = blas_->version();
  } else {
    info.blas_note = blas_ ? "BLAS available but builtin selected" : blas_note_;
  }
  if (blas_) info.available.push_back("blas");
  info.available.push_back("builtin");
  return info;
}

}  // namespace conv1x1

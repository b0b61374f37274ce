// Which GEMM backend runs the convolutions, and how many threads each call may use.
import { callSync } from './async-call';
import { native } from './binding';
import { describe, ErrorCodes, rangeError, typeError } from './errors';
import { checkOptionNames } from './validate';

export interface BackendInfo {
  /**
   * The BLAS in use ('openblas', 'mkl', 'blis', 'flexiblas', 'accelerate', 'blas' for another
   * CBLAS), or 'builtin' when none is.
   */
  name: string;
  /** The BLAS library file in use; null for the builtin kernel. */
  path: string | null;
  /** What the library reports about itself (OpenBLAS: its build configuration). */
  version: string | null;
  /** Best vector instruction set this CPU offers ('avx512f', 'avx2+fma', 'sse2', 'neon', 'scalar'). */
  simd: string;
  /**
   * The instruction set of the builtin kernels in use: `simd`'s kernels ('sse2' runs 'scalar'), or a
   * lower level forced with CONV1X1_ISA=avx512|avx2|scalar.
   */
  kernels: string;
  /** Why `kernels` is not the CPU's best (CONV1X1_ISA, or why that variable was ignored). */
  kernelsNote: string | null;
  /**
   * 'auto' (the default when a BLAS loaded): each convolution runs on whichever of the BLAS and the
   * builtin kernels is faster for its shape (see a layer's backend(inputShape)); 'builtin' without a
   * BLAS or with CONV1X1_BLAS=none.
   */
  selection: 'auto' | 'blas' | 'builtin';
  /** Why CONV1X1_ENGINE was ignored, when it was. */
  engineNote: string | null;
  /** Async calls in flight process-wide and the bound on them (see setQueueLimits). */
  queue: { calls: number; bytes: number; maxCalls: number; maxBytes: number };
  /** Threads one call may use. */
  threads: number;
  /** Calls that may run at once, process-wide: floor(cores / threads), at least 1. */
  maxConcurrentCalls: number;
  cores: number;
  /** Why no BLAS is in use, when none is. */
  note: string | null;
  /** Backends this process can run. */
  available: string[];
}

/** Throws Conv1x1Error ERR_BLAS_LOAD when CONV1X1_BLAS names a library that could not be used. */
export function backend(): BackendInfo {
  return callSync(() => native.backendInfo());
}

/**
 * Sets the threads one call may use (its tiles run on conv1x1's own threads, on every backend).
 * Calls then run at most floor(cores / threads) at a time, so that calls × threads never exceeds the
 * cores. Waits for running calls to finish before it changes anything.
 */
export function setThreads(threads: number): void {
  if (typeof threads !== 'number') {
    throw typeError(ErrorCodes.INVALID_ARG_TYPE, `threads must be an integer but received ${describe(threads)}`);
  }
  const cores = backend().cores;
  if (!Number.isInteger(threads) || threads < 1 || threads > cores) {
    throw rangeError(
      ErrorCodes.OUT_OF_RANGE,
      `threads must be an integer from 1 to ${cores} (the cores this process may use) but received ${describe(threads)}`,
    );
  }
  callSync(() => native.setThreads(threads));
}

/**
 * Forces the engine of every convolution in this process: 'builtin' (the builtin kernels), 'blas'
 * (the BLAS library; a RangeError ERR_INVALID_ARG_VALUE when none is loaded) or 'auto' (per shape,
 * the default with a BLAS). Same as CONV1X1_ENGINE at startup.
 */
export function setEngine(engine: 'auto' | 'blas' | 'builtin'): void {
  if (engine !== 'auto' && engine !== 'blas' && engine !== 'builtin') {
    throw rangeError(
      ErrorCodes.INVALID_ARG_VALUE,
      `engine must be 'auto', 'blas' or 'builtin' but received ${describe(engine)}`,
    );
  }
  const selected = callSync(() => native.selectBackend(engine));
  if (!selected) {
    throw rangeError(
      ErrorCodes.INVALID_ARG_VALUE,
      `engine '${engine}' needs a BLAS library and none is loaded (${backend().note ?? 'see backend().note'})`,
    );
  }
}

export interface QueueLimits {
  /** Async calls in flight at once, process-wide (running and waiting). Default 1024. */
  calls?: number;
  /** Bytes of their private buffers (input snapshots and results). Default 1 GiB. */
  bytes?: number;
}

/**
 * Bounds the async calls in flight in the whole process (worker_threads included). A call beyond
 * the bound rejects at once with Conv1x1Error ERR_QUEUE_FULL, before it allocates anything; calls
 * already admitted are unaffected. Also set by CONV1X1_MAX_QUEUED_CALLS and CONV1X1_MAX_QUEUED_BYTES.
 * A limit left out keeps its value. Throws TypeError ERR_INVALID_ARG_TYPE for a `limits` that is not
 * an object or a limit that is not a number, TypeError ERR_UNKNOWN_OPTION for another key, and
 * RangeError ERR_OUT_OF_RANGE for a limit that is not a positive safe integer.
 */
export function setQueueLimits(limits: QueueLimits): void {
  callSync(() => {
    if (limits === null || typeof limits !== 'object' || Array.isArray(limits)) {
      throw typeError(ErrorCodes.INVALID_ARG_TYPE, `limits must be an object but received ${describe(limits)}`);
    }
    checkOptionNames(limits, ['calls', 'bytes'], 'limits');
    const read = (name: 'calls' | 'bytes', fallback: number): number => {
      const value = limits[name];
      if (value === undefined) return fallback;
      if (typeof value !== 'number') {
        throw typeError(ErrorCodes.INVALID_ARG_TYPE, `limits.${name} must be a positive integer but received ${describe(value)}`);
      }
      if (!Number.isSafeInteger(value) || value < 1) {
        throw rangeError(ErrorCodes.OUT_OF_RANGE, `limits.${name} must be a positive integer but received ${describe(value)}`);
      }
      return value;
    };
    // 0 keeps a limit as it is (read natively: backend() would throw when a BLAS failed to load).
    native.setQueueLimits(read('calls', 0), read('bytes', 0));
  });
}

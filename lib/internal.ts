// Hooks for tests and benchmarks, not part of the public API: switch the backend of this process and
// read how many calls ran at once.
import { callSync } from './async-call';
import { native } from './binding';

export function availableBackends(): ('blas' | 'builtin')[] {
  return callSync(() => native.backendInfo().available) as ('blas' | 'builtin')[];
}

/** 'auto' (the default with a BLAS): per shape, whichever of BLAS and the builtin kernels is faster. */
export function selectBackend(kind: 'auto' | 'blas' | 'builtin'): void {
  if (!callSync(() => native.selectBackend(kind))) throw new Error(`backend ${kind} is not available`);
}

export function computeStats(reset = false) {
  return native.computeStats(reset);
}

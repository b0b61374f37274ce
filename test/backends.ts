// Runs a block of tests once per GEMM backend this process can use (BLAS and builtin).
import { availableBackends, selectBackend } from '../lib/internal';
import { setCurrentBackend } from './reference';

export const BACKENDS = availableBackends();

export function onBackend(kind: 'blas' | 'builtin'): void {
  selectBackend(kind);
  setCurrentBackend(kind);
}

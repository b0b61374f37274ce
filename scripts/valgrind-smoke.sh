#!/usr/bin/env bash
# scripts/valgrind-smoke.cjs under valgrind memcheck against the normal build (build/Release), once
# with OpenBLAS and once on the builtin kernels (valgrind reports no AVX-512, so they run AVX2).
# Node 20 + V8 are clean under memcheck here: no suppressions, and uninitialised-value checks stay on.
# Leak checking is off: node/V8 keep memory until exit by design. About 10 s per run.
set -euo pipefail
cd "$(dirname "$0")/.."
unset CONV1X1_PREBUILD LD_PRELOAD  # the normal addon; a sanitized one cannot run under valgrind
[ -f dist/index.js ] || npm run build:ts
for blas in default none; do
  echo "--- valgrind smoke, CONV1X1_BLAS=$blas ---"
  if [ "$blas" = default ]; then unset CONV1X1_BLAS; else export CONV1X1_BLAS=$blas; fi
  valgrind --quiet --error-exitcode=1 --leak-check=no node scripts/valgrind-smoke.cjs
done

#!/usr/bin/env bash
# The vitest suite against an AddressSanitizer + UBSan build of the addon (binding.gyp -Dsanitize=1).
# The sanitized .node is built in build-asan/ (its own gyp build dir, sharing native/ through a
# symlink), so build/Release/conv1x1.node is never touched and stays the normal, unsanitized one.
# node-gyp-build loads it because CONV1X1_PREBUILD=build-asan; scripts/asan-setup.ts checks that
# in every vitest fork. Node is not instrumented, so the sanitizer runtimes are preloaded; vitest's
# forks and the processes the tests spawn inherit LD_PRELOAD and the *SAN_OPTIONS.
# No test file is excluded.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
asan_dir="$root/build-asan"

step() { printf '\n--- test:asan: %s ---\n' "$*"; }

step "build the sanitized addon in build-asan/"
mkdir -p "$asan_dir"
cp binding.gyp "$asan_dir/binding.gyp"
ln -sfn ../native "$asan_dir/native"
ln -sfn ../node_modules "$asan_dir/node_modules"
(
  cd "$asan_dir"
  npx --no-install node-gyp configure --loglevel=warn -- -Dsanitize=1
  npx --no-install node-gyp build --loglevel=warn --jobs "$(nproc)"
)
addon="$asan_dir/build/Release/conv1x1.node"
symbols=$(nm -D "$addon")
grep -q ' U __asan_init' <<<"$symbols" || { echo "$addon is not built with ASan"; exit 1; }
grep -q ' U __ubsan_handle_' <<<"$symbols" || { echo "$addon is not built with UBSan"; exit 1; }

export CONV1X1_PREBUILD="$asan_dir"
resolved=$(node -e 'console.log(require("node-gyp-build").resolve("."))')
[ "$resolved" = "$addon" ] || { echo "node-gyp-build resolves $resolved, not $addon"; exit 1; }

step "without the preload the sanitized addon must refuse to load"
if out=$(node -e 'require(process.argv[1])' "$addon" 2>&1); then
  echo "the sanitized addon loaded without the ASan runtime: is it really sanitized?"; exit 1
fi
grep -q 'ASan runtime does not come first' <<<"$out" || { echo "unexpected load failure: $out"; exit 1; }
echo "ok: $out" | head -1

step "vitest against the sanitized addon"
# GCC links the ASan and UBSan runtimes as two shared libraries; both are preloaded so neither is
# first loaded by dlopen. Leak detection is off: node/V8 leak at exit by design.
export LD_PRELOAD="$(gcc -print-file-name=libasan.so):$(gcc -print-file-name=libubsan.so)"
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:halt_on_error=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
node -e "require('$addon'); console.log('ok: the sanitized addon loads with LD_PRELOAD')"
npm run build:ts
"$root/node_modules/.bin/vitest" run --config scripts/vitest.asan.config.mts "$@"

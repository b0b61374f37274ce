#!/usr/bin/env bash
# The N-API-free core and its native tests (the ctest of `npm run test:native`, contracts checked)
# built for the targets this x86-64 Linux machine is not, to catch what only they would show:
#   arm64  aarch64-linux-gnu-g++; the tests run under qemu-aarch64, on the NEON and the portable
#          kernels (about 45 s here); OpenBLAS is absent there, so its cases are skipped with a note
#   mingw  x86_64-w64-mingw32 (Windows x64): the core and the test .exe must compile and link, with
#          no -Wall -Wextra warning in native/; they run only if wine is installed
#   musl   needs a C++ compiler for musl; Debian's musl-gcc is C only, so it says why and skips
# For arm64 and mingw, native/binding is compiled too (not linked) once npm ci has installed
# node-addon-api. All three take about 2.5 minutes on 2 cores.
# Needs the Debian packages cmake g++-aarch64-linux-gnu qemu-user mingw-w64 musl-tools.
# Usage: bash scripts/cross-check.sh [arm64] [mingw] [musl]   (default: all three)
#   CROSS_BUILD_DIR  where the builds go (default build-cross), CROSS_JOBS  parallel jobs (default 2)
set -euo pipefail
cd "$(dirname "$0")/.."

out=${CROSS_BUILD_DIR:-build-cross}
jobs=${CROSS_JOBS:-2}
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(arm64 mingw musl)
# A warning in our sources fails a cross build: a portability slip usually shows first as one.
# Not -Werror: GCC 12 warns maybe-uninitialized inside its own AVX-512 headers (_mm512_undefined_ps),
# which is not ours to fix.
warning_flags="-Wall -Wextra"
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)

# Fails when the compiler output in $2 has a warning located in our sources.
fail_on_our_warnings() {
  local name=$1 log=$2 ours
  ours=$(grep -E '(^|/)native/[^ :]+:[0-9]+:[0-9]+: warning:' "$log" | sort -u || true)
  if [ -n "$ours" ]; then
    printf '%s: warnings in native/:\n%s\n' "$name" "$ours"
    return 1
  fi
}

# The configuration of test:native, for the toolchain in cmake/toolchains/$2.cmake, into $out/$1.
configure_and_build() {
  local name=$1 toolchain=$2
  cmake -S . -B "$out/$name" "${generator[@]}" \
    -DCMAKE_TOOLCHAIN_FILE="$PWD/cmake/toolchains/$toolchain.cmake" \
    -DCMAKE_BUILD_TYPE=Release -DCONV1X1_ADDON=OFF -DCONV1X1_CONTRACTS=ON \
    -DCMAKE_CXX_FLAGS="$warning_flags" >/dev/null
  cmake --build "$out/$name" -j "$jobs" 2>&1 | tee "$out/$name/build.log"
  fail_on_our_warnings "$name" "$out/$name/build.log"
}

# The addon's own sources, compiled only (linking needs node's import library on Windows), once
# npm ci has installed node-addon-api and when node's headers sit beside the node binary.
compile_binding() {
  local name=$1 compiler=$2 addon_api node_include file log="$out/$1/binding.log"
  addon_api=$(node -p "require('path').resolve(require('node-addon-api').include_dir)" 2>/dev/null) || addon_api=
  node_include=$(node -p "require('path').resolve(process.execPath, '../../include/node')" 2>/dev/null) ||
    node_include=
  if [ -z "$addon_api" ] || [ ! -f "$node_include/node_api.h" ]; then
    echo "$name: native/binding not compiled: no node-addon-api (npm ci) or no node_api.h beside node"
    return 0
  fi
  : > "$log"
  for file in native/binding/*.cc; do
    "$compiler" -std=c++17 $warning_flags -fsyntax-only -I"$node_include" -I"$addon_api" \
      -DNAPI_VERSION=8 -DNODE_API_NO_EXTERNAL_BUFFERS_ALLOWED -DNAPI_CPP_EXCEPTIONS \
      -DNODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS "$file" 2>&1 | tee -a "$log"
  done
  fail_on_our_warnings "$name" "$log"
  echo "$name: native/binding compiles ($(ls native/binding/*.cc | wc -l) files)"
}

check_arm64() {
  local start=$SECONDS log="$out/arm64/ctest.log"
  configure_and_build arm64 aarch64-linux-gnu
  compile_binding arm64 aarch64-linux-gnu-g++
  echo "arm64: built in $((SECONDS - start)) s"
  start=$SECONDS
  # The toolchain file names qemu-aarch64 as the emulator, so ctest runs the test through it.
  ctest --test-dir "$out/arm64" --output-on-failure -V | tee "$log"
  # Both kernel levels must have run: the test picks its levels from the CPU it finds.
  for label in "pointwise neon pixel tiles" "pointwise neon channel tiles" \
               "pointwise scalar pixel tiles" "pointwise scalar channel tiles" "builtin neon"; do
    if ! grep -q "$label" "$log"; then
      echo "arm64: no '$label' cases ran under qemu"
      return 1
    fi
  done
  echo "arm64: $(grep -oE '[0-9]+ passed, [0-9]+ failed' "$log" | tail -1) under qemu-aarch64" \
       "(neon and scalar kernels) in $((SECONDS - start)) s"
}

check_mingw() {
  local start=$SECONDS exe="$out/mingw/conv1x1_core_test.exe"
  configure_and_build mingw x86_64-w64-mingw32
  compile_binding mingw x86_64-w64-mingw32-g++-posix
  # Statically linked: only DLLs every Windows has, so the .exe runs wherever it is copied.
  local dlls
  dlls=$(x86_64-w64-mingw32-objdump -p "$exe" | sed -n 's/.*DLL Name: //p' | tr '\n' ' ')
  if echo "$dlls" | grep -qiE 'lib(stdc\+\+|gcc|winpthread)'; then
    echo "mingw: $exe needs the compiler's runtime DLLs: $dlls"
    return 1
  fi
  echo "mingw: core and test .exe built with no warning in native/ in $((SECONDS - start)) s (imports: $dlls)"
  if command -v wine >/dev/null; then
    wine "$exe"
  else
    echo "mingw: wine is not installed; the .exe was compiled and linked, not run"
  fi
}

check_musl() {
  local probe="$out/musl-probe"
  mkdir -p "$probe"
  printf '#include <vector>\nint main() { return static_cast<int>(std::vector<int>().size()); }\n' \
    > "$probe/probe.cc"
  if command -v musl-gcc >/dev/null && musl-gcc -x c++ "$probe/probe.cc" -o "$probe/probe" 2>/dev/null; then
    echo "musl: skipped: musl-gcc compiles C++ on this machine, but no musl build is set up here yet"
    return 0
  fi
  echo "musl: skipped: musl-gcc (musl-tools) is C only and Debian has no libstdc++ built for musl," \
       "so the C++ core needs an Alpine (or musl cross) toolchain"
}

for target in "${targets[@]}"; do
  case $target in
    arm64) check_arm64 ;;
    mingw) check_mingw ;;
    musl) check_musl ;;
    *) echo "unknown target '$target': expected arm64, mingw or musl"; exit 2 ;;
  esac
done

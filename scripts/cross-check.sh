#!/usr/bin/env bash
# The N-API-free core and its native tests (the ctest of `npm run test:native`, contracts checked)
# built for the targets this x86-64 Linux machine is not, to catch what only they would show:
#   arm64  aarch64-linux-gnu-g++; the tests run under qemu-aarch64, on the NEON and the portable
#          kernels (about 45 s here); OpenBLAS is absent there, so its cases are skipped with a note
#   mingw  x86_64-w64-mingw32 (Windows x64): the core and the test .exe must compile and link, with
#          no -Wall -Wextra warning in native/; they run only if wine is installed
#   musl   built only with a C++ compiler for musl; Debian's musl-gcc is C only, so it says why and skips
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

# The configuration of test:native, for the toolchain in cmake/toolchains/$2.cmake, into $out/$1.
configure_and_build() {
  local name=$1 toolchain=$2
  cmake -S . -B "$out/$name" "${generator[@]}" \
    -DCMAKE_TOOLCHAIN_FILE="$PWD/cmake/toolchains/$toolchain.cmake" \
    -DCMAKE_BUILD_TYPE=Release -DCONV1X1_ADDON=OFF -DCONV1X1_CONTRACTS=ON \
    -DCMAKE_CXX_FLAGS="$warning_flags" >/dev/null
  cmake --build "$out/$name" -j "$jobs" 2>&1 | tee "$out/$name/build.log"
  local ours
  ours=$(grep -E '(^|/)native/[^ :]+:[0-9]+:[0-9]+: warning:' "$out/$name/build.log" | sort -u || true)
  if [ -n "$ours" ]; then
    printf '%s: warnings in native/:\n%s\n' "$name" "$ours"
    return 1
  fi
}

check_arm64() {
  local start=$SECONDS log="$out/arm64/ctest.log"
  configure_and_build arm64 aarch64-linux-gnu
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

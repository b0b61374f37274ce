#!/usr/bin/env bash
# libFuzzer on the N-API-free core: builds native/fuzz against an ASan+UBSan-instrumented copy of the
# core in build-fuzz/, replays every committed crasher in native/fuzz/regressions/<target>/, then fuzzes
# each target for FUZZ_SECONDS (default 60) from build-fuzz/corpus/<target> plus native/fuzz/seeds/<target>.
# New crashers land in build-fuzz/artifacts/<target>/. Exits non-zero if any replay or run crashed.
# Needs clang-14 and libclang-rt-14-dev (Debian 12). Usage: scripts/fuzz.sh [target…]
set -u
cd "$(dirname "$0")/.."

build=build-fuzz
seconds="${FUZZ_SECONDS:-60}"
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(fuzz_conv fuzz_depthwise fuzz_plan)

mkdir -p "$build/logs"
if ! { cmake -S . -B "$build" -DCMAKE_CXX_COMPILER="${FUZZ_CXX:-clang++-14}" \
         -DCONV1X1_FUZZ=ON -DCONV1X1_ADDON=OFF -DCONV1X1_TESTS=OFF &&
       cmake --build "$build" -j "$(nproc)" --target "${targets[@]}"; } >"$build/logs/build.log" 2>&1; then
  tail -n 30 "$build/logs/build.log"
  exit 1
fi

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
status=0
for target in "${targets[@]}"; do
  corpus="$build/corpus/$target" artifacts="$build/artifacts/$target" log="$build/logs/$target.log"
  mkdir -p "$corpus" "$artifacts"

  mapfile -t regressions < <(find "native/fuzz/regressions/$target" -type f ! -name 'README*' | sort)
  if [ ${#regressions[@]} -gt 0 ]; then
    # A subshell, so that the shell's own "Aborted" notice goes to the log too.
    if ( "$build/$target" -rss_limit_mb=2048 "${regressions[@]}" ) >"$log.replay" 2>&1; then
      echo "$target: ${#regressions[@]} regression input(s) pass"
    else
      echo "$target: a regression input crashes (log: $log.replay)"
      grep -E "^(conv1x1 fuzz|SUMMARY|Running:)|runtime error|ERROR:" "$log.replay" | head -n 8
      status=1
    fi
  fi

  ( "$build/$target" -max_total_time="$seconds" -rss_limit_mb=2048 -max_len=4096 -print_final_stats=1 \
      -artifact_prefix="$artifacts/" "$corpus" "native/fuzz/seeds/$target" ) >"$log" 2>&1
  rc=$?
  last=$(grep -E "^#[0-9]+" "$log" | tail -n 1)
  echo "$target: exit $rc, ${last:-no progress line}"
  if [ $rc -ne 0 ]; then
    grep -E "^(conv1x1 fuzz|SUMMARY)|runtime error|ERROR:|Test unit written" "$log" | head -n 8
    status=1
  fi
done
exit $status

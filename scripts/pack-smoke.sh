#!/usr/bin/env bash
# The package as a user gets it: npm pack, then npm install of the tarball into an empty project
# with PREBUILDS_ONLY=1 and no C/C++ compiler on PATH, then scripts/pack-smoke/smoke.mjs there,
# once with OpenBLAS and once with OpenBLAS hidden (as in .ci/run), the two runs' numbers compared.
# Needs OpenBLAS installed (libopenblas-dev), unshare and root for the second run.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$SECONDS
platform=$(node -p 'process.platform + "-" + process.arch')

shopt -s nullglob
binaries=(prebuilds/"$platform"/*.node)
# A prebuild older than any native source or binding.gyp would test a binary the package no longer
# matches: rebuild it then, as when there is none.
stale=""
if [ ${#binaries[@]} -gt 0 ]; then
  stale=$(find native binding.gyp -newer "${binaries[0]}" -print -quit)
fi
if [ ${#binaries[@]} -eq 0 ] || [ -n "$stale" ]; then
  [ -n "$stale" ] && echo "prebuild: ${binaries[0]} is older than $stale: building it again"
  npm run prebuild
  binaries=(prebuilds/"$platform"/*.node)
  [ ${#binaries[@]} -gt 0 ] || { echo "pack smoke: npm run prebuild wrote no prebuilds/$platform/*.node"; exit 1; }
fi
echo "prebuild: ${binaries[*]}, built $(date -r "${binaries[0]}" -u '+%F %T') UTC"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# npm pack runs "prepare" (build:ts) first, so dist/ is what a publish would ship.
mkdir "$work/pack" "$work/unpacked"
npm pack --pack-destination "$work/pack" --loglevel=warn >/dev/null
tarballs=("$work"/pack/*.tgz)
[ ${#tarballs[@]} -eq 1 ] || { echo "pack smoke: npm pack wrote ${#tarballs[@]} tarballs"; exit 1; }
tarball=${tarballs[0]}
echo "tarball: $(basename "$tarball"), $(stat -c %s "$tarball") bytes"
tar -xzf "$tarball" -C "$work/unpacked"
node scripts/pack-smoke/check-tarball.mjs "$work/unpacked/package" "$platform"

# A PATH holding only node, npm, npx and sh, and an environment with nothing else (no CC, CXX):
# if no prebuild matched, the install could not compile the addon and would fail.
no_compiler_path=$work/bin
mkdir "$no_compiler_path"
for tool in node npm npx sh; do ln -s "$(command -v "$tool")" "$no_compiler_path/$tool"; done
clean_env=(env -i HOME="$HOME" PATH="$no_compiler_path" PREBUILDS_ONLY=1)
for tool in cc gcc g++ c++ clang make; do
  if found=$("${clean_env[@]}" sh -c 'command -v "$1"' _ "$tool"); then
    echo "pack smoke: $tool is reachable at $found"; exit 1
  fi
done
echo "no compiler: cc gcc g++ c++ clang make are all not found on PATH=$no_compiler_path"

project=$work/project
mkdir "$project"
echo '{ "name": "conv1x1-pack-smoke", "version": "1.0.0", "private": true }' > "$project/package.json"
# --foreground-scripts shows the install script's output, which the log is checked for below.
(cd "$project" && "${clean_env[@]}" npm install "$tarball" --omit=dev --prefer-offline --no-audit --no-fund \
  --foreground-scripts) 2>&1 | tee "$work/install.log"
grep -q '^> node-gyp-build$' "$work/install.log" || { echo "pack smoke: the install script did not run"; exit 1; }
[ ! -e "$project/node_modules/conv1x1/build" ] || { echo "pack smoke: the install compiled the addon (build/ exists)"; exit 1; }
echo "install: node-gyp-build ran and built nothing (no node_modules/conv1x1/build)"

cp scripts/pack-smoke/smoke.mjs "$project/"

echo; echo "--- smoke suite with OpenBLAS ---"
(cd "$project" && "${clean_env[@]}" node smoke.mjs --expect-backend openblas --save "$work/openblas-results.json")

echo; echo "--- smoke suite with OpenBLAS absent ---"
# A private mount namespace in which the OpenBLAS directories are empty: dlopen finds no BLAS at all.
# Debian's multiarch directory: x86_64-linux-gnu, aarch64-linux-gnu.
unshare --mount bash -euo pipefail -c '
  for dir in "$1"/openblas-pthread "$1"/openblas64-pthread; do
    [ -d "$dir" ] && mount -t tmpfs none "$dir"
  done
  cd "$2" && shift 2 && exec "$@"
' _ "/usr/lib/$(uname -m)-linux-gnu" "$project" "${clean_env[@]}" node smoke.mjs --expect-backend builtin --compare "$work/openblas-results.json"

echo; echo "pack smoke: both runs passed; tarball $(stat -c %s "$tarball") bytes; $((SECONDS - started)) s"

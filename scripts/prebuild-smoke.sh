#!/usr/bin/env bash
# Builds the prebuilt binary for this platform (npm run prebuild: prebuildify --napi --strip
# --tag-libc into prebuilds/<platform>-<arch>/) and checks that the package loads it and runs with
# PREBUILDS_ONLY=1 from a copy that has no build/ directory at all.
set -euo pipefail
cd "$(dirname "$0")/.."

npm run prebuild
shopt -s nullglob
binaries=(prebuilds/*/*.node)
[ ${#binaries[@]} -gt 0 ] || { echo "prebuild: no binary under prebuilds/"; exit 1; }
echo "prebuild: ${binaries[*]} ($(stat -c %s "${binaries[0]}") bytes)"

copy=$(mktemp -d)
trap 'rm -rf "$copy"' EXIT
cp -r package.json dist prebuilds "$copy/"
ln -s "$PWD/node_modules" "$copy/node_modules"
(cd "$copy" && PREBUILDS_ONLY=1 node -e '
  const path = require("node-gyp-build").path(".");
  if (!path.includes("/prebuilds/")) throw new Error("loaded " + path + ", not the prebuild");
  const c = require("./dist/index.js");
  const y = c.conv1x1(new c.Tensor(new Float32Array([1, 2, 3, 4]), [1, 2, 1, 2]),
                      new c.Tensor(new Float32Array([1, 1]), [1, 2]), { bias: new c.Tensor(new Float32Array([0.5]), [1]) });
  if (y.data[0] !== 4.5 || y.data[1] !== 6.5) throw new Error("wrong result " + Array.from(y.data));
  console.log("prebuild loads and runs: " + path + ", " + c.backend().name + " / " + c.backend().kernels);
')

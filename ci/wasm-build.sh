#!/usr/bin/env bash
# ci/wasm-build.sh [BUILD_DIR]: the Emscripten build of libbitnet (docs/wasm.md)
# into BUILD_DIR (default build/wasm): PCRE2 and cJSON for emcc
# (ci/wasm-deps.sh, once), then emcmake cmake and a build with warnings as
# errors. Exits 77 (skipped) when emcmake or node is missing.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root/build/wasm}
deps=${BITNET_WASM_DEPS:-$root/build/wasm-deps}
for tool in emcmake emcc node; do
  command -v "$tool" >/dev/null ||
    { echo "SKIPPED: $tool not found (ci/install-deps.sh installs emscripten and nodejs)"; exit 77; }
done
# emcc runs acorn under node: Debian installs it in /usr/share/nodejs, which
# a node from elsewhere (nodesource) does not search
export NODE_PATH=${NODE_PATH:+$NODE_PATH:}/usr/share/nodejs
bash "$root/ci/wasm-deps.sh" "$deps"
emcmake cmake -S "$root" -B "$out" -DCMAKE_BUILD_TYPE=Release -DBITNET_WERROR=ON -DBITNET_CUDA=OFF \
  -DBITNET_WASM_DEPS="$deps" >"$out.configure.log" 2>&1 || { cat "$out.configure.log"; exit 1; }
cmake --build "$out" -j"${BITNET_WASM_JOBS:-2}"

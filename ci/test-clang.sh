#!/usr/bin/env bash
# The suite built with clang (warnings as errors) in build-clang/, so that a
# portability break is caught where it is made. The Python reference and the
# NEON cross-build do not depend on the host compiler and run in the gcc pass.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v clang >/dev/null; then
  echo "test-clang: clang not found (ci/install-deps.sh installs it)" >&2
  exit 1
fi
# CUDA off: the gcc pass (ci/test.sh) compiles the CUDA kernels once; the
# WebAssembly build does not depend on the host compiler: tested once, by make test
CC=clang CXX=clang++ BUILD_DIR=build-clang CMAKE_ARGS="-DBITNET_CUDA=OFF -DBITNET_WASM_TESTS=OFF ${CMAKE_ARGS:-}" \
  CTEST_ARGS="-LE python -E ^kernels_neon_qemu$ ${CTEST_ARGS:-}" bash ci/test.sh

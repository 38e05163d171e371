#!/usr/bin/env bash
# The suite under AddressSanitizer (with leak checks) and UndefinedBehaviorSanitizer,
# in build-asan/. Any report fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
BUILD_DIR=build-asan BUILD_TYPE=Debug CMAKE_ARGS="-DBITNET_WASM_TESTS=OFF -DBITNET_SANITIZER=address,undefined -DBITNET_CUDA=OFF -DBITNET_PYTHON=$PWD/build/venv/bin/python" \
  CTEST_ARGS="-LE python" bash ci/test.sh
